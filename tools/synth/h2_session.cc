#include "h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace sluice::synth {
namespace {

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
    std::string f;
    const auto n = static_cast<uint32_t>(payload.size());
    for (int s : {16, 8, 0}) f.push_back(static_cast<char>((n >> s) & 0xff));
    f.push_back(static_cast<char>(type));
    f.push_back(static_cast<char>(flags));
    for (int s : {24, 16, 8, 0}) f.push_back(static_cast<char>((stream >> s) & 0xff));
    return f.append(payload);
}

std::string settings(std::initializer_list<std::pair<uint16_t, uint32_t>> s) {
    std::string p;
    for (auto [id, v] : s) {
        p.push_back(static_cast<char>(id >> 8));
        p.push_back(static_cast<char>(id & 0xff));
        for (int k : {24, 16, 8, 0}) p.push_back(static_cast<char>((v >> k) & 0xff));
    }
    return frame(4, 0, 0, p);
}

std::string u32(uint32_t v) {
    std::string p;
    for (int k : {24, 16, 8, 0}) p.push_back(static_cast<char>((v >> k) & 0xff));
    return p;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct Message {
    std::string start;  // the start line
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;
};

// Splits an HTTP/1.1 message the generator wrote (so well-formed); de-chunks a chunked body.
Message split(const std::string& m) {
    Message out;
    const size_t end = m.find("\r\n\r\n");
    const std::string head = m.substr(0, end);
    out.body = end == std::string::npos ? std::string() : m.substr(end + 4);
    size_t at = head.find("\r\n");
    out.start = head.substr(0, at);
    bool chunked = false;
    while (at != std::string::npos && at < head.size()) {
        const size_t next = head.find("\r\n", at + 2);
        const std::string line =
            head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
        const size_t colon = line.find(':');
        std::string name = lower(line.substr(0, colon));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "transfer-encoding") {
            chunked = value == "chunked";
        } else {
            out.fields.emplace_back(std::move(name), std::move(value));
        }
        at = next;
    }
    if (chunked) {
        std::string plain;
        size_t p = 0;
        for (;;) {
            const size_t eol = out.body.find("\r\n", p);
            const size_t len = std::stoul(out.body.substr(p, eol - p), nullptr, 16);
            if (len == 0) break;
            plain += out.body.substr(eol + 2, len);
            p = eol + 2 + len + 2;
        }
        out.body = std::move(plain);
    }
    return out;
}

std::string data_frames(uint32_t stream, const std::string& body) {
    std::string out;
    for (size_t o = 0; o < body.size(); o += 16384) {
        const std::string_view part = std::string_view(body).substr(o, 16384);
        out += frame(0, o + part.size() == body.size() ? 1 : 0, stream, part);
    }
    return out;
}

}  // namespace

bool offers_h2(const std::vector<std::string>& alpn) {
    return std::find(alpn.begin(), alpn.end(), "h2") != alpn.end();
}

H2Session::H2Session(std::string_view stack, bool tls)
    : browser_(stack == "browser"), scheme_(tls ? "https" : "http") {
    nghttp2_hd_deflate_new(&client_, 4096);
    nghttp2_hd_deflate_new(&server_, 4096);
}

H2Session::~H2Session() {
    nghttp2_hd_deflate_del(client_);
    nghttp2_hd_deflate_del(server_);
}

std::string H2Session::client_preface() const {
    // The stacks' own first frames: curl 7.88 (nghttp2) and Chromium.
    const std::string magic("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    if (browser_)
        return magic + settings({{1, 65536}, {2, 0}, {4, 6291456}, {6, 262144}}) +
               frame(8, 0, 0, u32(15663105));
    return magic + settings({{3, 100}, {4, 33554432}, {2, 0}}) + frame(8, 0, 0, u32(33488897));
}

std::string H2Session::server_preface() const {
    // nginx's: 128 streams, a 64 KiB window, 16 MiB frames; then the ACK of the client's.
    return settings({{3, 128}, {4, 65536}, {5, 16777215}}) + settings_ack();
}

std::string H2Session::settings_ack() {
    return frame(4, 1, 0, "");
}

std::string H2Session::headers_frame(nghttp2_hd_deflater* enc, uint32_t stream,
                                     const std::string& lines, bool end_stream) {
    std::vector<std::pair<std::string, std::string>> fields;
    size_t at = 0;
    while (at < lines.size()) {
        const size_t nl = lines.find('\n', at);
        const std::string line = lines.substr(at, nl - at);
        const size_t tab = line.find('\t');
        fields.emplace_back(line.substr(0, tab), line.substr(tab + 1));
        at = nl + 1;
    }
    std::vector<nghttp2_nv> nv;
    for (const auto& [n, v] : fields)
        nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      NGHTTP2_NV_FLAG_NONE});
    std::string block(nghttp2_hd_deflate_bound(enc, nv.data(), nv.size()), '\0');
    const auto n = nghttp2_hd_deflate_hd(enc, reinterpret_cast<uint8_t*>(block.data()),
                                         block.size(), nv.data(), nv.size());
    block.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return frame(1, static_cast<uint8_t>(4 | (end_stream ? 1 : 0)), stream, block);
}

std::string H2Session::request(const std::string& http1) {
    const Message m = split(http1);
    stream_ = stream_ == 0 ? 1 : stream_ + 2;
    const size_t sp1 = m.start.find(' '), sp2 = m.start.rfind(' ');
    const std::string method = m.start.substr(0, sp1);
    const std::string path = m.start.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string authority;
    for (const auto& [n, v] : m.fields)
        if (n == "host") authority = v;
    // Pseudo-header order is the stack's: curl m,p,s,a; Chromium m,a,s,p.
    std::string lines = ":method\t" + method + "\n";
    if (browser_)
        lines += ":authority\t" + authority + "\n:scheme\t" + scheme_ + "\n:path\t" + path + "\n";
    else
        lines += ":path\t" + path + "\n:scheme\t" + scheme_ + "\n:authority\t" + authority + "\n";
    for (const auto& [n, v] : m.fields)
        if (n != "host" && n != "connection") lines += n + "\t" + v + "\n";
    return headers_frame(client_, stream_, lines, m.body.empty()) +
           (m.body.empty() ? std::string() : data_frames(stream_, m.body));
}

std::string H2Session::response(const std::string& http1) {
    const Message m = split(http1);
    const size_t sp1 = m.start.find(' ');
    std::string lines = ":status\t" + m.start.substr(sp1 + 1, 3) + "\n";
    for (const auto& [n, v] : m.fields)
        if (n != "connection") lines += n + "\t" + v + "\n";
    return headers_frame(server_, stream_, lines, m.body.empty()) +
           (m.body.empty() ? std::string() : data_frames(stream_, m.body));
}

}  // namespace sluice::synth
