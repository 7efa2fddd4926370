// CZlib: the zlib API for LogReading's gzip decoder (nothing else uses it).
#include <zlib.h>
