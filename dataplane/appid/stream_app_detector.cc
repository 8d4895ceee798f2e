#include "appid/stream_app_detector.h"

#include <algorithm>
#include <cstring>

namespace sluice {
namespace {

// detect_stage values. 0: undecided; 1..19: inside a SOCKS preamble; 20: SOCKS done,
// detecting the tunnelled protocol; 30: decided.
enum Stage : uint8_t {
    kStart = 0,
    kV5Methods = 1,
    kV5MethodList,
    kV5ReqVer,
    kV5ReqCmd,
    kV5ReqRsv,
    kV5ReqAtyp,
    kV5ReqNameLen,
    kV5ReqAddr,
    kV4Cmd = 10,
    kV4PortIp,
    kV4User,
    kV4Host,
    kSocksDone = 20,
    kDecided = 30,
};

// The SOCKS state machine keeps its byte counter in detect_count and the SOCKS4a flag in
// detect_buf[2] while detect_len stays 0; detect_buf holds guessed bytes after the preamble.
uint16_t& remaining(Flow& f) {
    return f.detect_count;
}

}  // namespace

size_t StreamAppDetector::feed_socks(Flow& f, std::span<const uint8_t> bytes) {
    size_t i = 0;
    for (; i < bytes.size() && f.detect_stage != kSocksDone; ++i) {
        const uint8_t b = bytes[i];
        switch (f.detect_stage) {
            case kStart:
                if (b == 5)
                    f.detect_stage = kV5Methods;
                else
                    f.detect_stage = kV4Cmd;
                break;
            case kV5Methods:
                remaining(f) = b;
                f.detect_stage = b ? kV5MethodList : kV5ReqVer;
                break;
            case kV5MethodList:
                if (--remaining(f) == 0) f.detect_stage = kV5ReqVer;
                break;
            case kV5ReqVer:
                f.detect_stage = kV5ReqCmd;
                break;
            case kV5ReqCmd:
                f.detect_stage = kV5ReqRsv;
                break;
            case kV5ReqRsv:
                f.detect_stage = kV5ReqAtyp;
                break;
            case kV5ReqAtyp:
                if (b == 3) {
                    f.detect_stage = kV5ReqNameLen;
                } else {
                    remaining(f) = (b == 4 ? 16 : 4) + 2;
                    f.detect_stage = kV5ReqAddr;
                }
                break;
            case kV5ReqNameLen:
                remaining(f) = static_cast<uint16_t>(b + 2);
                f.detect_stage = kV5ReqAddr;
                break;
            case kV5ReqAddr:
                if (--remaining(f) == 0) f.detect_stage = kSocksDone;
                break;
            case kV4Cmd:
                remaining(f) = 6;
                f.detect_buf[2] = 1;  // SOCKS4a until an IP byte says otherwise
                f.detect_stage = kV4PortIp;
                break;
            case kV4PortIp: {
                const uint16_t left = --remaining(f);
                // IP bytes are positions 2..5 of the 6; 4a uses 0.0.0.x (x != 0).
                if (left >= 1 && left <= 3 && b != 0) f.detect_buf[2] = 0;
                if (left == 0) {
                    if (b == 0) f.detect_buf[2] = 0;
                    f.detect_stage = kV4User;
                }
                break;
            }
            case kV4User:
                if (b == 0) f.detect_stage = f.detect_buf[2] ? kV4Host : kSocksDone;
                break;
            case kV4Host:
                if (b == 0) f.detect_stage = kSocksDone;
                break;
            default:
                break;
        }
    }
    return i;
}

void StreamAppDetector::guess(Flow& f, std::span<const uint8_t> bytes) {
    const size_t take = std::min(bytes.size(), sizeof f.detect_buf - f.detect_len);
    std::memcpy(f.detect_buf + f.detect_len, bytes.data(), take);
    f.detect_len = static_cast<uint8_t>(f.detect_len + take);
    const ProtoGuess g = guess_client_proto({f.detect_buf, f.detect_len});
    if (g.proto != AppProto::Unknown) {
        f.app_proto = g.proto;
        f.detect_stage = kDecided;
    } else if (!g.need_more || f.detect_len == sizeof f.detect_buf) {
        f.app_proto = AppProto::Failed;
        f.detect_stage = kDecided;
    }
}

void StreamAppDetector::on_data(Flow& f, Dir dir, std::span<const uint8_t> bytes) {
    if (f.detect_stage == kDecided) return;
    if (dir == Dir::ToClient) {
        // The server spoke first (its flight reached sluice before the ClientHello it answers:
        // a retransmission, a tap): a TLS handshake record decides it, whichever side it came
        // from; anything else waits for the client's bytes.
        if (f.detect_stage == kStart && f.detect_len == 0 && f.stream[0].delivered == 0 &&
            bytes.size() >= 3 && bytes[0] == 0x16 && bytes[1] == 3 && bytes[2] <= 4) {
            f.app_proto = AppProto::Tls;
            f.detect_stage = kDecided;
        }
        return;
    }
    if (f.detect_stage == kStart && f.detect_len == 0) {
        const ProtoGuess g = guess_client_proto(bytes.first(std::min<size_t>(bytes.size(), 1)));
        if (g.proto == AppProto::Socks) f.app_proto = AppProto::Socks;
    }
    if (f.app_proto == AppProto::Socks && f.detect_stage < kSocksDone) {
        const size_t used = feed_socks(f, bytes);
        f.detect_skip[0] = static_cast<uint16_t>(std::min<size_t>(f.detect_skip[0] + used, 0xffff));
        bytes = bytes.subspan(used);
        if (f.detect_stage != kSocksDone) return;
        std::memset(f.detect_buf, 0, sizeof f.detect_buf);
        if (bytes.empty()) return;
    }
    guess(f, bytes);
}

void StreamAppDetector::on_gap(Flow& f, Dir dir, uint32_t) {
    if (dir == Dir::ToServer && f.detect_stage != kDecided) {
        f.app_proto = AppProto::Failed;
        f.detect_stage = kDecided;
    }
}

void StreamAppDetector::on_end(Flow&, Dir) {}

}  // namespace sluice
