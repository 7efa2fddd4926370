# Dockerfile: the mailtrail binary in a small runtime image.
# Build stage: the Swift 6 toolchain with libpq, zlib and mimalloc headers;
# runtime: Ubuntu plus libpq, zlib and mimalloc (the allocator the binary
# links, docs/performance.md). The sample logs are copied in
# for the demo (docker-compose.yml).
FROM swift:6.0-jammy AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev zlib1g-dev libmimalloc-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product mailtrail --static-swift-stdlib

FROM ubuntu:22.04
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 zlib1g libmimalloc2.0 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/.build/release/mailtrail /usr/local/bin/mailtrail
COPY samples /usr/share/mailtrail/samples
ENTRYPOINT ["/usr/local/bin/mailtrail"]
