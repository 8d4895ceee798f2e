#include "flow/flow.h"

namespace sluice {

std::string_view flow_state_name(FlowState s) {
    switch (s) {
        case FlowState::New:
            return "new";
        case FlowState::Established:
            return "established";
        case FlowState::Closing:
            return "closing";
        case FlowState::Closed:
            return "closed";
        case FlowState::Stateless:
            return "stateless";
    }
    return "unknown";
}

std::string_view flow_end_reason_name(FlowEndReason r) {
    switch (r) {
        case FlowEndReason::Timeout:
            return "timeout";
        case FlowEndReason::Evicted:
            return "evicted";
        case FlowEndReason::Shutdown:
            return "shutdown";
        case FlowEndReason::Forced:
            return "forced";
        case FlowEndReason::TcpReuse:
            return "tcp_reuse";
    }
    return "unknown";
}

}  // namespace sluice
