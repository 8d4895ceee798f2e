// The inspection buffers a rule can name. Each belongs to one inspection point: the request
// (end of an HTTP request), the response (end of an HTTP response), the TLS client hello, or
// the raw stream (every chunk of reassembled or decrypted bytes).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rules/http2_facts.h"
#include "rules/packet_facts.h"
#include "rules/tls_facts.h"

namespace sluice::rules {

enum class Buffer : uint8_t {
    HttpMethod,
    HttpUri,
    HttpHost,
    HttpUserAgent,
    HttpHeader,  // all request header lines, "Name: value\r\n" each (Suricata's http.header)
    HttpCookie,
    HttpRequestBody,
    LlmPrompt,
    LlmSystem,
    LlmModel,
    HttpStatCode,
    HttpResponseBody,
    TlsSni,
    Ja3Hash,
    Ja4Hash,
    Stream,  // no sticky buffer: reassembled (or decrypted) payload, chunk by chunk
    // Added after Stream so the indices bundles key their databases by stay as they were.
    Http2HeaderName,  // HTTP/2 request header names, one per line ("name\r\n"); absent for HTTP/1
    // Request header names in order as Suricata's http.header_names: "\r\nHost\r\nAccept\r\n\r\n"
    // (as sent; HTTP/2 names are lowercase).
    HttpHeaderNames,
    // Request-side buffers of Suricata's HTTP keywords (HTTP/1.x; the header values also for
    // HTTP/2): the request line without its line end, its protocol ("HTTP/1.1"), the whole
    // head as sent (http.start), and single header values.
    HttpRequestLine,
    HttpProtocol,
    HttpStart,
    HttpContentLen,
    HttpContentType,
    HttpAccept,
    HttpAcceptEnc,
    HttpAcceptLang,
    HttpReferer,
    HttpConnection,
    // Response-side (HTTP/1.x): the status line, its reason, and two header values.
    HttpResponseLine,
    HttpStatMsg,
    HttpServer,
    HttpLocation,
    // Packet-level: one packet's transport payload (the default buffer of packet rules, and
    // their pkt_data), its IPv4 header and its TCP header, options included.
    PacketPayload,
    Ipv4Hdr,
    TcpHdr,
    Ipv6Hdr,  // the fixed header and its extension headers, as Suricata's ipv6.hdr
    UdpHdr,
    // One header line per instance, "Name: value" without its line end (HTTP/1 and HTTP/2;
    // Suricata's http.request_header / http.response_header): the buffer holds them joined by
    // "\r\n" and a rule's conditions must hold within one of them (per_line below).
    HttpRequestHeader,
    HttpResponseHeader,
    // TLS: the client's JA3 string; the server's JA3S and its certificate's fields as
    // Suricata's tls.cert_* keywords read them (tls/certificate.h).
    Ja3String,
    Ja3sHash,
    Ja3sString,
    TlsCertSubject,
    TlsCertIssuer,
    TlsCertSerial,
    TlsCertFingerprint,
    // An anomaly sluice noticed, "<kind>:<Suricata name>" (rules/events.h): decode-event,
    // stream-event and app-layer-event rules match it exactly.
    Event,
    Count
};
constexpr size_t kBufferCount = static_cast<size_t>(Buffer::Count);
constexpr size_t bidx(Buffer b) {
    return static_cast<size_t>(b);
}

// TlsHello: the client's hello; TlsServer: the server's clear-text flight (its hello and,
// before TLS 1.3, its certificate).
// Event: an anomaly of a packet, a stream or an application protocol (rules/events.h).
enum class InspectPoint : uint8_t {
    Request,
    Response,
    TlsHello,
    Stream,
    Packet,
    TlsServer,
    Event,
    Count
};
constexpr size_t kInspectPointCount = static_cast<size_t>(InspectPoint::Count);

constexpr InspectPoint inspect_point(Buffer b) {
    switch (b) {
        case Buffer::HttpStatCode:
        case Buffer::HttpResponseBody:
        case Buffer::HttpResponseLine:
        case Buffer::HttpStatMsg:
        case Buffer::HttpServer:
        case Buffer::HttpLocation:
        case Buffer::HttpResponseHeader:
            return InspectPoint::Response;
        case Buffer::TlsSni:
        case Buffer::Ja3Hash:
        case Buffer::Ja4Hash:
        case Buffer::Ja3String:
            return InspectPoint::TlsHello;
        case Buffer::Ja3sHash:
        case Buffer::Ja3sString:
        case Buffer::TlsCertSubject:
        case Buffer::TlsCertIssuer:
        case Buffer::TlsCertSerial:
        case Buffer::TlsCertFingerprint:
            return InspectPoint::TlsServer;
        case Buffer::Event:
            return InspectPoint::Event;
        case Buffer::Stream:
            return InspectPoint::Stream;
        case Buffer::PacketPayload:
        case Buffer::Ipv4Hdr:
        case Buffer::TcpHdr:
        case Buffer::Ipv6Hdr:
        case Buffer::UdpHdr:
            return InspectPoint::Packet;
        default:
            return InspectPoint::Request;
    }
}

// Multi-instance buffers (Suricata's multi-buffers): the value is the instances joined by
// "\r\n"; conditions on the buffer match if they all hold in one instance.
constexpr bool per_line(Buffer b) {
    return b == Buffer::HttpRequestHeader || b == Buffer::HttpResponseHeader;
}

// The canonical (Suricata 7 style) name, used in messages and EVE.
std::string_view buffer_name(Buffer b);
std::string_view inspect_point_name(InspectPoint p);

// The values of the buffers at one inspection point; absent buffers are empty and unset.
struct BufferSet {
    std::array<std::string_view, kBufferCount> value{};
    std::array<bool, kBufferCount> present{};
    const Http2Facts* http2 = nullptr;    // an HTTP/2 transaction's frames (http2.* keywords)
    const PacketFacts* packet = nullptr;  // the packet's headers (packet point)
    const TlsFacts* tls = nullptr;        // TLS points: version and handshake state
    void set(Buffer b, std::string_view v) {
        value[bidx(b)] = v;
        present[bidx(b)] = true;
    }
    void clear() {
        present.fill(false);
        value.fill({});
        http2 = nullptr;
        packet = nullptr;
        tls = nullptr;
    }
};

}  // namespace sluice::rules
