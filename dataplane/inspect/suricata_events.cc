#include "inspect/suricata_events.h"

namespace sluice {

std::string_view suricata_decode_event(DecodeError e) {
    switch (e) {
        case DecodeError::Ipv4Truncated:
            return "ipv4.trunc_pkt";  // also a header shorter than 20 bytes, or than its IHL
        case DecodeError::Ipv4BadVersion:
            return "ipv4.wrong_ip_version";
        case DecodeError::Ipv4BadHeaderLength:
            return "ipv4.hlen_too_small";
        case DecodeError::Ipv4BadTotalLength:
            return "ipv4.iplen_smaller_than_hlen";
        case DecodeError::Ipv4BadOption:
            return "ipv4.opt_invalid_len";
        case DecodeError::Ipv6Truncated:
        case DecodeError::Ipv6BadPayloadLength:
            return "ipv6.trunc_pkt";
        case DecodeError::Ipv6BadVersion:
            return "ipv6.wrong_ip_version";
        case DecodeError::Ipv6ExtTruncated:
            return "ipv6.trunc_exthdr";
        case DecodeError::TcpTruncated:
            return "tcp.pkt_too_small";
        case DecodeError::TcpBadDataOffset:
            return "tcp.hlen_too_small";
        case DecodeError::UdpTruncated:
            return "udp.pkt_too_small";
        case DecodeError::UdpBadLength:
            return "udp.len_invalid";
        default:
            return {};
    }
}

std::string_view suricata_stream_event(NormReason r) {
    switch (r) {
        case NormReason::NoAck:
            return "pkt_invalid_ack";
        case NormReason::AckUnsent:
            return "est_invalid_ack";
        case NormReason::Paws:
            return "pkt_invalid_timestamp";
        case NormReason::OutOfWindow:
            return "est_packet_out_of_window";
        case NormReason::OverlapConflict:
            return "reassembly_overlap_different_data";
        case NormReason::SynOnEstablished:
            return "est_syn_resend";
        default:
            return {};
    }
}

std::string_view suricata_http_event(http::Anomaly a, Dir d) {
    using http::Anomaly;
    const bool req = d == Dir::ToServer;
    switch (a) {
        case Anomaly::BadRequestLine:
            return "http.request_line_invalid";
        case Anomaly::BadStatusLine:
            return "http.response_invalid_status";
        case Anomaly::BadVersion:
            return req ? std::string_view() : "http.response_invalid_protocol";
        case Anomaly::BadHeaderName:
        case Anomaly::BadHeaderValue:
        case Anomaly::HeaderNameWhitespace:
        case Anomaly::MalformedFramingHeader:
            return req ? "http.request_header_invalid" : "http.response_header_invalid";
        case Anomaly::ObsFold:
            return req ? "http.invalid_request_field_folding"
                       : "http.invalid_response_field_folding";
        case Anomaly::TooManyHeaders:
            return req ? "http.request_too_many_headers" : "http.response_too_many_headers";
        case Anomaly::HeaderTooLong:
            return req ? "http.request_field_too_long" : "http.response_field_too_long";
        case Anomaly::ConflictingContentLength:
            return req ? "http.duplicate_content_length_field_in_request"
                       : "http.duplicate_content_length_field_in_response";
        case Anomaly::BadContentLength:
            return req ? "http.invalid_content_length_field_in_request"
                       : "http.invalid_content_length_field_in_response";
        case Anomaly::TransferEncodingNotChunked:
            return req ? "http.invalid_transfer_encoding_value_in_request"
                       : "http.invalid_transfer_encoding_value_in_response";
        case Anomaly::BadChunkSize:
        case Anomaly::ChunkSizeJunk:
            return req ? "http.invalid_request_chunk_len" : "http.invalid_response_chunk_len";
        case Anomaly::ResponseWithoutRequest:
            return "http.unable_to_match_response_to_request";
        case Anomaly::DecompressionFailed:
            return "http.gzip_decompression_failed";
        case Anomaly::DecompressionCapped:
            return "http.compression_bomb";
        case Anomaly::UnsupportedEncoding:
            return "http.abnormal_ce_header";
        case Anomaly::HeaderWithoutColon:
            return req ? "http.request_field_missing_colon" : "http.response_field_missing_colon";
        default:
            return {};
    }
}

std::string_view suricata_tls_event(tls::TlsEvent e) {
    switch (e) {
        case tls::TlsEvent::InvalidRecordType:
            return "tls.invalid_record_type";
        case tls::TlsEvent::InvalidRecordVersion:
            return "tls.invalid_record_version";
        case tls::TlsEvent::InvalidRecord:
            return "tls.invalid_ssl_record";
        case tls::TlsEvent::InvalidHandshake:
            return "tls.invalid_handshake_message";
        case tls::TlsEvent::InvalidCertificate:
            return "tls.invalid_certificate";
        case tls::TlsEvent::Heartbeat:
            return "tls.heartbeat_message";
    }
    return {};
}

}  // namespace sluice
