// A small mutation fuzzer that drives a LLVMFuzzerTestOneInput target without libFuzzer
// (which needs clang with libc++ here): seeds come from files, directories or pcap
// captures; each iteration mutates a seed (bit flips, byte sets, inserts, deletes,
// truncations, splices) and runs the target on an exact-size heap copy.
//   fuzz-TARGET [--iterations N] [--seconds S] [--seed N] [--pcap FILE] [--frames-as-stream]
//               [SEED_FILE_OR_DIR...]
#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.h"

namespace {

using Bytes = std::vector<uint8_t>;

void add_pcap(const std::string& path, bool as_stream, std::vector<Bytes>& seeds) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (p == nullptr) {
        std::fprintf(stderr, "fuzz: %s\n", err);
        std::exit(2);
    }
    pcap_pkthdr* h;
    const u_char* d;
    Bytes stream;
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (as_stream) {  // [u16 length][frame] records, as fuzz_pipeline reads them
            stream.push_back(static_cast<uint8_t>(h->caplen >> 8));
            stream.push_back(static_cast<uint8_t>(h->caplen));
            stream.insert(stream.end(), d, d + h->caplen);
            if (stream.size() > 64 * 1024) {
                seeds.push_back(std::move(stream));
                stream.clear();
            }
        } else {
            seeds.emplace_back(d, d + h->caplen);
        }
    }
    if (!stream.empty()) seeds.push_back(std::move(stream));
    pcap_close(p);
}

void add_path(const std::filesystem::path& p, std::vector<Bytes>& seeds) {
    if (std::filesystem::is_directory(p)) {
        for (const auto& e : std::filesystem::directory_iterator(p)) add_path(e.path(), seeds);
        return;
    }
    std::ifstream in(p, std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void run(const Bytes& input) {
    // Exact-size heap copy: ASan flags any read past the end.
    std::unique_ptr<uint8_t[]> copy(new uint8_t[input.empty() ? 1 : input.size()]);
    if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
    LLVMFuzzerTestOneInput(copy.get(), input.size());
}

Bytes mutate(const std::vector<Bytes>& seeds, std::mt19937_64& rng) {
    Bytes b = seeds[rng() % seeds.size()];
    const int rounds = 1 + static_cast<int>(rng() % 8);
    static constexpr uint8_t kInteresting[] = {0,    1,    0x7f, 0x80, 0xff,
                                               0x40, 0x45, 0x60, 0x06, 0x11};
    for (int r = 0; r < rounds; ++r) {
        const size_t n = b.size();
        switch (rng() % 7) {
            case 0:
                if (n) b[rng() % n] ^= static_cast<uint8_t>(1u << (rng() % 8));
                break;
            case 1:
                if (n) b[rng() % n] = kInteresting[rng() % sizeof kInteresting];
                break;
            case 2:
                if (n) b[rng() % n] = static_cast<uint8_t>(rng());
                break;
            case 3: {  // insert random bytes
                const size_t at = n ? rng() % (n + 1) : 0;
                const size_t k = 1 + rng() % 16;
                Bytes ins(k);
                for (auto& x : ins) x = static_cast<uint8_t>(rng());
                b.insert(b.begin() + static_cast<long>(at), ins.begin(), ins.end());
                break;
            }
            case 4:  // delete a range
                if (n > 1) {
                    const size_t at = rng() % n;
                    const size_t k = 1 + rng() % std::min<size_t>(n - at, 32);
                    b.erase(b.begin() + static_cast<long>(at),
                            b.begin() + static_cast<long>(at + k));
                }
                break;
            case 5:  // truncate
                if (n) b.resize(rng() % n);
                break;
            case 6: {  // splice the tail of another seed
                const Bytes& o = seeds[rng() % seeds.size()];
                if (!o.empty() && n) {
                    const size_t at = rng() % n, from = rng() % o.size();
                    b.resize(at);
                    b.insert(b.end(), o.begin() + static_cast<long>(from), o.end());
                }
                break;
            }
        }
    }
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t iterations = 10000, seed = 1;
    double seconds = 0;
    bool as_stream = false;
    std::vector<Bytes> seeds;
    std::vector<std::string> pcaps;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "fuzz: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--iterations")
            iterations = std::stoull(next());
        else if (a == "--seconds")
            seconds = std::stod(next());
        else if (a == "--seed")
            seed = std::stoull(next());
        else if (a == "--pcap")
            pcaps.push_back(next());
        else if (a == "--frames-as-stream")
            as_stream = true;
        else
            add_path(a, seeds);
    }
    for (const auto& p : pcaps) add_pcap(p, as_stream, seeds);
    if (seeds.empty()) seeds.push_back({});
    for (const auto& s : seeds) run(s);
    std::mt19937_64 rng(seed);
    const auto start = std::chrono::steady_clock::now();
    uint64_t done = 0;
    for (;; ++done) {
        if (seconds > 0) {
            if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
                seconds)
                break;
        } else if (done >= iterations) {
            break;
        }
        run(mutate(seeds, rng));
    }
    std::printf("fuzz: %zu seeds, %llu mutated inputs, no crash\n", seeds.size(),
                static_cast<unsigned long long>(done));
    return 0;
}
