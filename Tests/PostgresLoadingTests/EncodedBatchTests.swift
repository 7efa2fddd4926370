/// EncodedBatchTests: `EncodedBatch` splits a batch into COPY data per fact
/// table and UTC day, counting rows per host.
///
/// Contract: one part per (table, day), in order of first appearance; rows
/// keep their order and encode exactly as `CopyBinary` does, between the
/// binary COPY header and trailer; rows per host add
/// up to the part's rows ("" for unparsed lines without a host); partition
/// names match `mailtrail.partition_name()` (zero-padded years).
import MailTrailModel
import Testing
@testable import PostgresLoading

@Suite struct EncodedBatchTests {
    private func message(_ t: Timestamp, _ host: String, _ q: String) -> MessageRecord {
        MessageRecord(receivedAt: t, msgKey: 1, host: host, mta: "postfix", instance: "postfix", queueID: q)
    }

    @Test func partsPerTableAndDayWithRowsPerHost() {
        let day = Timestamp(seconds: 1_709_251_200)            // 2024-03-01T00:00:00Z
        let lastSecond = day.adding(seconds: 86_399)
        let nextDay = day.adding(seconds: 86_400)
        let before = Timestamp(micros: day.micros - 1)         // 2024-02-29T23:59:59.999999Z
        let batch = Batch(
            sourceID: 7, fromOffset: 0, toOffset: 10, toLine: 9,
            counters: ["mx1": IngestCounters(linesRead: 9)],
            messages: [message(day, "mx1", "A"), message(nextDay, "mx2", "B"), message(lastSecond, "mx2", "C"),
                       message(before, "mx1", "D"), message(day, "mx1", "E")],
            deliveries: [DeliveryRecord(at: nextDay, msgKey: 1, host: "mx1", instance: "postfix", queueID: "B",
                                        recipient: "r@x", status: .sent)],
            unparsed: [UnparsedLine(at: day, host: nil, lineNumber: 3, offset: 5, reason: "x", raw: [0]),
                       UnparsedLine(at: day, host: "mx9", lineNumber: 4, offset: 9, reason: "y", raw: [1])],
            correlatorStates: ["mx1": (3, [1, 2])])
        let e = EncodedBatch(batch)
        #expect(e.sourceID == 7 && e.toOffset == 10 && e.toLine == 9 && e.counters == batch.counters)
        #expect(e.correlatorStates["mx1"]?.expectedVersion == 3)
        let d0 = CivilDate(year: 2024, month: 3, day: 1).daysSinceEpoch
        #expect(e.parts.map { "\($0.table.rawValue) \($0.day - d0) \($0.rows)" }
                == ["messages 0 3", "messages 1 1", "messages -1 1", "deliveries 1 1", "unparsed_lines 0 2"])
        #expect(e.parts[0].rowsPerHost == ["mx1": 2, "mx2": 1])
        #expect(e.parts[4].rowsPerHost == ["": 1, "mx9": 1])
        #expect(e.rowCount == 8)

        var expected = CopyBinary()
        expected.appendRaw(CopyBinary.header)
        expected.append(message(day, "mx1", "A")); expected.append(message(lastSecond, "mx2", "C"))
        expected.append(message(day, "mx1", "E"))
        expected.appendRaw(CopyBinary.trailer)
        #expect(e.parts[0].data.bytes == expected.bytes)
        var unparsed = CopyBinary()
        unparsed.appendRaw(CopyBinary.header)
        unparsed.append(batch.unparsed[0], sourceID: 7); unparsed.append(batch.unparsed[1], sourceID: 7)
        unparsed.appendRaw(CopyBinary.trailer)
        #expect(e.parts[4].data.bytes == unparsed.bytes)
    }

    @Test func partitionNamesMatchTheSQLRule() {
        #expect(FactTable.messages.partitionName(day: CivilDate(year: 2024, month: 3, day: 1)) == "messages_p20240301")
        #expect(FactTable.unparsedLines.partitionName(day: CivilDate(year: 987, month: 12, day: 31)) == "unparsed_lines_p09871231")
        #expect(FactTable.allCases.map { $0.columns.count } == [29, 28, 18, 7])
    }
}
