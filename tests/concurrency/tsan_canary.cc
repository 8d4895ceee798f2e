// The positive control of the ThreadSanitizer run: an unsynchronised counter shared by two
// threads. The test command expects this program to fail (TSan reports the race and exits
// non-zero); if it ever passes, the sanitizer is not watching and a clean concurrency run
// would prove nothing.
#include <cstdio>
#include <thread>

namespace {
long shared_count = 0;  // deliberately not atomic
}

int main() {
    std::thread a([] {
        for (int i = 0; i < 100000; ++i) ++shared_count;
    });
    std::thread b([] {
        for (int i = 0; i < 100000; ++i) ++shared_count;
    });
    a.join();
    b.join();
    std::printf("%ld\n", shared_count);
    return 0;
}
