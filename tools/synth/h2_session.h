// HTTP/2 framing for sluice-synth (RFC 9113, RFC 7541 through nghttp2's HPACK encoder): turns
// the HTTP/1.1 requests and answers the generator writes into what an h2 client and server
// put on one connection - prefaces, SETTINGS as the client's stack sends them (curl's or
// Chromium's, so the Akamai fingerprint is the stack's), HEADERS with the stack's
// pseudo-header order, DATA in 16 KiB frames, chunked answers de-chunked. Deterministic: no
// randomness of its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct nghttp2_hd_deflater;

namespace sluice::synth {

class H2Session {
  public:
    // `stack`: the client's TLS profile name ("curl", "browser"; others frame like curl);
    // `tls`: h2 over TLS (:scheme https), else h2c with prior knowledge (:scheme http).
    H2Session(std::string_view stack, bool tls);
    ~H2Session();
    H2Session(const H2Session&) = delete;
    H2Session& operator=(const H2Session&) = delete;

    // The client's first bytes (preface, SETTINGS, WINDOW_UPDATE) and the server's (SETTINGS,
    // and its ACK of the client's); then the client's ACK of the server's.
    std::string client_preface() const;
    std::string server_preface() const;
    static std::string settings_ack();
    // One exchange on the next client stream: `http1_request` and `http1_response` as the
    // generator wrote them for HTTP/1.1.
    std::string request(const std::string& http1_request);
    std::string response(const std::string& http1_response);

  private:
    std::string headers_frame(nghttp2_hd_deflater* enc, uint32_t stream,
                              const std::string& fields_as_lines, bool end_stream);
    bool browser_;
    std::string scheme_;
    uint32_t stream_ = 0;  // the last client stream opened
    nghttp2_hd_deflater* client_ = nullptr;
    nghttp2_hd_deflater* server_ = nullptr;
};

// Whether a client with this ALPN list and the generator's HTTP/2-capable server speak h2.
bool offers_h2(const std::vector<std::string>& alpn);

}  // namespace sluice::synth
