#include "common/timestamp.h"

#include <cstdio>
#include <ctime>

namespace sluice {

size_t format_eve_time(Timestamp t, std::span<char> out) {
    const time_t secs = static_cast<time_t>(t.sec());
    struct tm tm;
    gmtime_r(&secs, &tm);
    const int n = std::snprintf(out.data(), out.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%06llu+0000",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                tm.tm_sec, static_cast<unsigned long long>(t.usec_part()));
    return n < 0                                 ? 0
           : static_cast<size_t>(n) < out.size() ? static_cast<size_t>(n)
                                                 : out.size() - 1;
}

}  // namespace sluice
