#include "engine/stream_dumper.h"

#include "common/private_file.h"

#include <cstring>

namespace sluice {

StreamDumper::~StreamDumper() {
    for (auto& [flow, e] : flows_) {
        close(e, Dir::ToServer);
        close(e, Dir::ToClient);
    }
}

StreamDumper::Entry& StreamDumper::entry(Flow& flow) {
    auto [it, inserted] = flows_.try_emplace(&flow);
    if (inserted) {
        const Endpoint& c = flow.client();
        const Endpoint& s = flow.server();
        char ca[48], sa[48], name[160];
        c.addr.format(ca);
        s.addr.format(sa);
        std::snprintf(name, sizeof name, "%s_%u-%s_%u", ca, c.port, sa, s.port);
        const unsigned n = ++names_[name];
        if (n > 1) {
            const size_t len = std::strlen(name);
            std::snprintf(name + len, sizeof name - len, ".%u", n);
        }
        it->second.base = name;
    }
    return it->second;
}

void StreamDumper::on_data(Flow& flow, Dir dir, std::span<const uint8_t> bytes) {
    Entry& e = entry(flow);
    const size_t d = idx(dir);
    if (e.file[d] == nullptr) {
        const std::string path = dir_ + "/" + e.base + (dir == Dir::ToServer ? ".c2s" : ".s2c");
        e.file[d] = open_private(path, e.created[d] ? FileMode::Append : FileMode::Truncate);
        if (e.file[d] == nullptr) {
            ++write_errors_;
            return;
        }
        e.created[d] = true;
        ++open_files_;
    }
    if (std::fwrite(bytes.data(), 1, bytes.size(), e.file[d]) != bytes.size()) ++write_errors_;
    if (open_files_ > kMaxOpenFiles) close(e, dir);  // many live flows: reopen on next write
}

void StreamDumper::on_gap(Flow&, Dir, uint32_t len) {
    gap_bytes_ += len;
}

void StreamDumper::on_end(Flow& flow, Dir dir) {
    auto it = flows_.find(&flow);
    if (it != flows_.end()) close(it->second, dir);
}

void StreamDumper::on_flow_end(Flow& flow) {
    auto it = flows_.find(&flow);
    if (it == flows_.end()) return;
    close(it->second, Dir::ToServer);
    close(it->second, Dir::ToClient);
    flows_.erase(it);
}

void StreamDumper::close(Entry& e, Dir dir) {
    std::FILE*& f = e.file[idx(dir)];
    if (f == nullptr) return;
    if (std::fclose(f) != 0) ++write_errors_;
    f = nullptr;
    --open_files_;
}

}  // namespace sluice
