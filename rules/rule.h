// A parsed rule: the dialect-independent model both rule dialects parse into. Immutable once
// a rule set is built; the compiler and both evaluators (Hyperscan and reference) read it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/ip_address.h"
#include "rules/buffer.h"
#include "rules/byte_ops.h"
#include "rules/transform.h"
#include "verdict/verdict.h"

namespace sluice::rules {

enum class Action : uint8_t { Alert, Drop, Reject, Pass };
std::string_view action_name(Action a);
// The flow verdict a matching rule asks for (pass is handled by the rule engine itself).
Verdict action_verdict(Action a);

// Tcp: a stream rule (reassembled data) unless it uses header keywords; TcpPkt: Suricata's
// tcp-pkt, every TCP packet; Ip: every IP packet sluice inspects; Udp and Icmp: every UDP,
// every ICMP and ICMPv6 packet (packet rules).
enum class Protocol : uint8_t { Tcp, Http, Tls, TcpPkt, Ip, Udp, Icmp };
std::string_view protocol_name(Protocol p);

// One address element: a prefix (len 0 with version None means "any").
struct AddressRange {
    IpAddress prefix;
    uint8_t len = 0;
    bool any = false;
};

// An address set as written: elements, each possibly negated. Matches if the address is in a
// positive element (or there are none) and in no negated element.
struct AddressSet {
    std::vector<AddressRange> include;
    std::vector<AddressRange> exclude;
    bool matches(const IpAddress& a) const;
    bool is_any() const { return include.empty() && exclude.empty(); }
};

struct PortRange {
    uint16_t lo = 0;
    uint16_t hi = 65535;
};
struct PortSet {
    std::vector<PortRange> include;
    std::vector<PortRange> exclude;
    bool matches(uint16_t p) const;
    bool is_any() const { return include.empty() && exclude.empty(); }
};

// Where a position constraint comes from. Absolute: offset/depth from the buffer start.
// Relative: distance/within from the end of the previous match in the same buffer.
struct Content {
    std::string bytes;  // decoded pattern (hex and escapes resolved)
    bool nocase = false;
    bool negated = false;
    bool fast_pattern = false;
    std::optional<int32_t> offset, depth;     // absolute
    std::optional<int32_t> distance, within;  // relative
    // A position given by a byte_extract / byte_math variable (the optional above is then set,
    // to 0, so that relative() and the absolute/relative checks still hold).
    ByteVar offset_var = kNoVar, depth_var = kNoVar, distance_var = kNoVar, within_var = kNoVar;
    bool startswith = false;  // Suricata's startswith: offset 0, depth = length (both set)
    bool endswith = false;    // the match must end where the buffer ends
    bool relative() const { return distance || within; }
};

struct Pcre {
    std::string source;  // as written, "/.../flags"
    std::string pattern;
    bool caseless = false, dotall = false, multiline = false, extended = false;
    bool relative = false;  // R
    bool negated = false;
};

enum class DatasetOp : uint8_t { IsSet, IsNotSet };
struct DatasetRef {
    DatasetOp op = DatasetOp::IsSet;
    std::string name;
};

// An unsigned comparison as Suricata writes them: 5, =5, !=5, <5, <=5, >5, >=5, 2-8 or 2<>8
// (exclusive range, as Suricata's uint keywords).
struct UintCmp {
    enum class Op : uint8_t { Eq, Ne, Lt, Le, Gt, Ge, Range } op = Op::Eq;
    uint64_t a = 0, b = 0;
    bool matches(uint64_t v) const;
};

// isdataat:[!]N[,relative] (Suricata's semantics): absolute, the buffer has a byte at N;
// relative, at least N bytes follow the end of the previous match.
struct DataAt {
    uint32_t at = 0;
    ByteVar at_var = kNoVar;
    bool relative = false;
    bool negated = false;
};

// base64_decode:[bytes N][, offset N][, relative]: decodes base64 from the buffer (RFC 4648
// mode, as Suricata); the conditions after base64_data match the decoded bytes.
struct Base64Decode {
    uint32_t bytes = 65535;  // at most this many input bytes
    uint32_t offset = 0;
    bool relative = false;
};
// What base64_decode decodes into `out` (at most kBase64DecodedCap bytes), given the end of
// the previous match; 0 when nothing decodes (the rule does not match there).
constexpr size_t kBase64DecodedCap = 49152;  // 65535 input bytes, three for four
size_t base64_decode_at(const Base64Decode& d, std::string_view data, size_t prev_end,
                        std::span<char> out);

// One condition on one buffer, in rule order.
struct Condition {
    // Size: bsize (Suricata) / bufferlen (Snort 3), the buffer's length.
    enum class Kind : uint8_t {
        Content,
        Pcre,
        Dataset,
        Size,
        DataAt,
        ByteTest,
        ByteJump,
        ByteExtract,
        ByteMath,
        Base64Decode,
    } kind = Kind::Content;
    Buffer buffer = Buffer::Stream;
    Content content;
    Pcre pcre;
    DatasetRef dataset;
    UintCmp size;
    DataAt data_at;
    ByteOp byte;
    Base64Decode base64;
    // After base64_data: matched against what the rule's base64_decode decoded, not the buffer.
    bool decoded = false;
    // The transforms the rule put on this condition's buffer (the same for every condition on
    // one buffer): the condition matches the transformed buffer.
    std::vector<Transform> transforms;
};

// Suricata's HTTP/2 keywords (checked against the transaction's Http2Facts).
struct Http2Check {
    enum class Kind : uint8_t { FrameType, ErrorCode, Setting, Window } kind = Kind::FrameType;
    uint32_t id = 0;             // frame type, error code or setting id
    std::optional<UintCmp> cmp;  // settings: the value (absent: the setting was sent); window
};

// A header keyword of a packet-level rule, against the packet's PacketFacts.
struct PacketCheck {
    enum class Kind : uint8_t {
        Ttl,
        Id,
        Dsize,
        Window,
        Seq,
        Ack,
        TcpMss,
        Flags,
        FragBits,
        IpOpts,
        SameIp,
        Itype,
        Icode,
        IcmpId,
        IcmpSeq,
        StreamSize
    } kind = Kind::Ttl;
    UintCmp cmp;           // the numeric kinds
    bool negated = false;  // window:!N
    // flags / fragbits: exact (after the ignore mask), + (these and maybe others), * (any of
    // these), ! (not all of these), as Suricata's FlagsMatch.
    enum class Mode : uint8_t { Exact, All, Any, Not } mode = Mode::Exact;
    uint8_t bits = 0;
    uint8_t ignore = 0;      // flags bits left out of the comparison
    IpOpt opt = IpOpt::Any;  // ipopts
    // stream_size: which side's size the comparison reads
    enum class Side : uint8_t { Client, Server, Both, Either } side = Side::Client;
    bool holds(const PacketFacts& p) const;
};
std::string_view packet_check_name(PacketCheck::Kind k);

// TLS keywords checked against the session's TlsFacts: tls.version (one version),
// ssl_version (any of a set, or none of a negated set) and ssl_state (any of the messages).
struct TlsCheck {
    enum class Kind : uint8_t { Version, SslVersion, SslState } kind = Kind::Version;
    uint16_t version = 0;      // tls.version
    uint8_t versions = 0;      // ssl_version: bits of kSslVersions
    uint8_t not_versions = 0;  // ssl_version: negated ones
    uint8_t states = 0;        // ssl_state: ssl_state_bit::
    uint8_t not_states = 0;    // ssl_state: negated ones
    bool holds(const TlsFacts& t) const;
};
// ssl_version's names in bit order: sslv2 sslv3 tls1.0 tls1.1 tls1.2 tls1.3.
constexpr uint16_t kSslVersions[] = {0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304};

// Where a rule was written: errors and alerts point back here.
struct SourceLocation {
    SourceLocation() = default;
    SourceLocation(std::string f, uint32_t l, uint32_t c)
        : file(std::move(f)), line(l), column(c) {}
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
};

// threshold / detection_filter: counted across flows and workers by the account correlator
// (Suricata semantics; `by_account` is sluice's: the request's account).
enum class ThresholdType : uint8_t { Limit, Threshold, Both, DetectionFilter };
enum class ThresholdTrack : uint8_t { BySrc, ByDst, ByRule, ByBoth, ByAccount };
struct Threshold {
    ThresholdType type = ThresholdType::Limit;
    ThresholdTrack track = ThresholdTrack::BySrc;
    uint32_t count = 1;
    uint32_t seconds = 60;
};
std::string_view threshold_type_name(ThresholdType t);
std::string_view threshold_track_name(ThresholdTrack t);

// flowbits:set|unset|toggle|isset|isnotset,NAME (isset/isnotset: NAME|NAME ... any/none of).
// A rule's checks are evaluated on its flow when the rest of it matched; its sets then apply.
struct FlowbitsOp {
    enum class Kind : uint8_t { Set, Unset, Toggle, IsSet, IsNotSet } kind = Kind::Set;
    std::vector<std::string> names;
    std::vector<uint16_t> ids;  // the rule set's ids for `names` (RuleSet::flowbit_names)
    bool check() const { return kind == Kind::IsSet || kind == Kind::IsNotSet; }
};

// flowint:NAME,OP,VALUE (Suricata): OP modifies (= + -) or tests (== != < <= > >=) the flow's
// integer, or isset / notset (isnotset) test its presence. A rule's ops run in rule order
// when the rest of it matched: a failing test is no match; `+` on an unset integer sets it,
// `-` on one fails (as Suricata).
struct FlowintOp {
    enum class Kind : uint8_t {
        Set,
        Add,
        Sub,
        Eq,
        Ne,
        Lt,
        Le,
        Gt,
        Ge,
        IsSet,
        IsNotSet
    } kind = Kind::Set;
    std::string name;
    uint16_t id = 0;  // the rule set's id for `name` (RuleSet::flowint_names)
    uint32_t value = 0;
};

struct Rule {
    Action action = Action::Alert;
    Protocol proto = Protocol::Tcp;
    AddressSet src, dst;
    PortSet src_ports, dst_ports;
    bool bidirectional = false;  // <>

    std::string msg;
    uint32_t sid = 0;
    uint32_t rev = 1;
    uint32_t gid = 1;
    std::string classtype;
    std::optional<uint8_t> priority;  // explicit priority; else the classtype's
    std::vector<std::pair<std::string, std::string>> metadata;

    bool flow_to_server = false;
    bool flow_to_client = false;
    bool flow_established = false;

    std::vector<Condition> conditions;
    std::vector<std::string> byte_vars;  // byte_extract / byte_math variables (ByteVar indices)
    std::vector<Http2Check> http2;       // all must hold; a rule with any matches HTTP/2 only
    std::vector<PacketCheck> packet;     // header keywords: all must hold (packet point)
    std::vector<TlsCheck> tls;           // TLS keywords: all must hold (TLS points)
    std::optional<Threshold> threshold;  // threshold: or detection_filter: (one per rule)
    std::vector<FlowbitsOp> flowbits;
    std::vector<FlowintOp> flowints;
    bool noalert = false;  // flowbits:noalert: matches set bits, raise no alert
    InspectPoint point = InspectPoint::Stream;  // derived from the buffers used
    SourceLocation where;
    std::string text;  // the rule as written (one logical line)
};

}  // namespace sluice::rules
