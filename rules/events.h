// Suricata's event keywords (decode-event, stream-event, app-layer-event) bound to the
// anomalies sluice raises. A rule names an event by Suricata's name; the stages that notice an
// anomaly hand its Suricata name to the rule inspector, which matches the rule at the event
// inspection point (Buffer::Event holds "<kind>:<name>"). Names sluice never raises are
// reported unsupported at load, so a rule that could never fire is not silently kept.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sluice::rules {

enum class EventKind : uint8_t { Decode, Stream, AppLayer };
std::optional<EventKind> event_kind_from_keyword(std::string_view kw);
std::string_view event_kind_keyword(EventKind k);  // "decode-event", ...
std::string_view event_kind_prefix(EventKind k);   // "decode", "stream", "applayer"

// The events sluice raises, by Suricata's names ("ipv4.hlen_too_small", "est_invalid_ack",
// "http.request_field_too_long").
std::span<const std::string_view> raised_events(EventKind k);
bool raises_event(EventKind k, std::string_view name);

// Buffer::Event's value for an event: "<prefix>:<name>", written into `out` (cut to fit).
std::string_view event_buffer_value(EventKind k, std::string_view name, std::span<char> out);

}  // namespace sluice::rules
