#include "account/transaction_observer.h"

#include <algorithm>
#include <chrono>

#include "account/sketches.h"

namespace sluice::account {

void TransactionObserver::observe(const Flow& f, const Transaction& t, std::string_view ja4,
                                  uint64_t ts_ns, uint64_t seq) {
    if (sink_ == nullptr || !t.account.present()) return;
    Observation o;
    o.ts_ns = ts_ns;
    o.seq = seq;
    o.account = t.account.id;
    o.hint = t.account.hint;
    o.hint_len = t.account.hint_len;
    o.src = f.client().addr;
    o.ja4_hash = t.ja4_hash;
    o.ua_hash = t.ua_len ? hash_item(t.ua_view()) : 0;
    o.h2fp_hash = t.client_fingerprint.empty() ? 0 : hash_item(t.client_fingerprint);
    o.prompt_simhash = t.prompt_simhash;
    o.prompt_bytes = t.prompt_bytes;
    o.prompt_head = t.prompt_frame.head;
    o.prompt_tail = t.prompt_frame.tail;
    o.pushed_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::steady_clock::now().time_since_epoch())
                                            .count());
    o.request_bytes = static_cast<uint32_t>(std::min<uint64_t>(t.req_body, UINT32_MAX));
    o.response_bytes = static_cast<uint32_t>(std::min<uint64_t>(t.resp_body, UINT32_MAX));
    o.input_tokens = static_cast<int32_t>(std::clamp<int64_t>(t.usage.input_tokens, -1, INT32_MAX));
    o.output_tokens =
        static_cast<int32_t>(std::clamp<int64_t>(t.usage.output_tokens, -1, INT32_MAX));
    o.hit_classes = t.hit_classes;
    const std::string_view ua = t.ua_view();
    for (const ClientClaim& c : claims_)
        for (const std::string& p : c.user_agent_prefixes)
            if (ua.starts_with(p)) {
                o.claims_official = true;
                o.claim_mismatch =
                    !ja4.empty() && std::find(c.ja4.begin(), c.ja4.end(), ja4) == c.ja4.end();
            }
    sink_->observe(o);
}

}  // namespace sluice::account
