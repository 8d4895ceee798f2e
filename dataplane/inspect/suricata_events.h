// Suricata's names for the anomalies sluice's stages notice (decode-event, stream-event and
// app-layer-event rules name them; rules/events.h lists them). Empty when Suricata has no
// event for it.
#pragma once

#include <string_view>

#include "decode/decoded_packet.h"
#include "flow/flow.h"
#include "http/http_framer.h"
#include "normalize/tcp_normalizer.h"
#include "tls/tls_inspector.h"

namespace sluice {

std::string_view suricata_decode_event(DecodeError e);
std::string_view suricata_stream_event(NormReason r);
std::string_view suricata_http_event(http::Anomaly a, Dir d);
std::string_view suricata_tls_event(tls::TlsEvent e);

}  // namespace sluice
