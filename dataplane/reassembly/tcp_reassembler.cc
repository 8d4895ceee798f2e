#include "reassembly/tcp_reassembler.h"

#include <algorithm>
#include <cstring>

#include "decode/decoded_packet.h"

namespace sluice {

void TcpReassembler::on_segment(Flow& flow, Dir dir, uint32_t seq, uint8_t flags,
                                std::span<const uint8_t> payload) {
    TcpStream& s = flow.stream[idx(dir)];
    if (s.ended) return;
    uint32_t data_seq = seq;
    if (flags & tcp_flag::kSyn) {
        // A SYN fixes the initial sequence number unless data already flowed.
        if (s.delivered == 0 && s.ooo_head == kNilIndex) {
            s.next_seq = seq + 1;
            s.seq_known = true;
        }
        s.syn_seen = true;
        data_seq = seq + 1;
    }
    if (!s.seq_known) {
        if (payload.empty() && !(flags & tcp_flag::kFin)) return;
        s.next_seq = data_seq;  // mid-stream pickup: start at the first byte we see
        s.seq_known = true;
    }
    if (flags & tcp_flag::kFin) {
        s.fin_seen = true;
        s.fin_seq = data_seq + static_cast<uint32_t>(payload.size());
    }
    if (!payload.empty()) {
        ++counters_.segments;
        accept(flow, dir, data_seq, payload);
    }
    if (s.fin_seen && s.next_seq == s.fin_seq && !s.ended) end_direction(flow, dir);
}

void TcpReassembler::accept(Flow& flow, Dir dir, uint32_t seq, std::span<const uint8_t> bytes) {
    TcpStream& s = flow.stream[idx(dir)];
    bool first = true;
    while (!bytes.empty()) {
        if (seq_lt(seq, s.next_seq)) {
            const uint32_t old = s.next_seq - seq;
            if (old >= bytes.size()) {
                if (first) ++counters_.retransmitted;
                return;
            }
            if (first) ++counters_.overlaps;
            bytes = bytes.subspan(old);
            seq = s.next_seq;
        }
        if (seq == s.next_seq) {
            if (first) ++counters_.in_order;
            deliver(flow, dir, bytes);
            drain(flow, dir);
            return;
        }
        if (first) ++counters_.out_of_order;
        first = false;
        const uint32_t stopped = insert(s, seq, bytes);
        const uint32_t consumed = stopped - seq;
        if (consumed == bytes.size()) return;
        bytes = bytes.subspan(consumed);
        seq = stopped;
        // Out of room: give up on the oldest hole so delivery can move on.
        if (s.ooo_head != kNilIndex && seq_lt(pool_[s.ooo_head].seq, seq)) {
            skip_to_first_buffered(flow, dir);
        } else {
            declare_gap(flow, dir, seq - s.next_seq);
            s.next_seq = seq;
        }
    }
}

uint32_t TcpReassembler::insert(TcpStream& s, uint32_t seq, std::span<const uint8_t> bytes) {
    uint32_t cur = seq;
    const uint32_t end = seq + static_cast<uint32_t>(bytes.size());
    uint32_t* link = &s.ooo_head;
    while (seq_lt(cur, end)) {
        uint32_t piece_end = end;
        const uint32_t ni = *link;
        if (ni != kNilIndex) {
            SegmentNode& n = pool_[ni];
            const uint32_t nend = n.seq + n.len;
            if (seq_leq(nend, cur)) {  // node lies entirely before cur
                link = &n.next;
                continue;
            }
            if (seq_leq(n.seq, cur)) {  // cur is covered by an earlier arrival: first wins
                ++counters_.overlaps;
                cur = nend;
                link = &n.next;
                continue;
            }
            if (seq_lt(n.seq, end)) piece_end = n.seq;
        }
        const uint32_t piece = std::min<uint32_t>(piece_end - cur, SegmentNode::kCapacity);
        if (s.ooo_bytes + piece > cap_) {
            ++counters_.flow_cap_reached;
            return cur;
        }
        const uint32_t ni_new = pool_.alloc();
        if (ni_new == kNilIndex) {
            ++counters_.pool_exhausted;
            return cur;
        }
        SegmentNode& n = pool_[ni_new];
        n.seq = cur;
        n.len = static_cast<uint16_t>(piece);
        std::memcpy(n.data, bytes.data() + (cur - seq), piece);
        n.next = *link;
        *link = ni_new;
        link = &n.next;
        s.ooo_bytes += piece;
        cur += piece;
    }
    return end;
}

void TcpReassembler::deliver(Flow& flow, Dir dir, std::span<const uint8_t> bytes) {
    TcpStream& s = flow.stream[idx(dir)];
    if (retain_ != 0) retain(s, bytes);
    s.next_seq += static_cast<uint32_t>(bytes.size());
    s.delivered += bytes.size();
    consumer_.on_data(flow, dir, bytes);
}

void TcpReassembler::declare_gap(Flow& flow, Dir dir, uint32_t len) {
    if (len == 0) return;
    ++counters_.gaps;
    counters_.gap_bytes += len;
    consumer_.on_gap(flow, dir, len);
}

void TcpReassembler::drain(Flow& flow, Dir dir) {
    TcpStream& s = flow.stream[idx(dir)];
    while (s.ooo_head != kNilIndex) {
        const uint32_t ni = s.ooo_head;
        SegmentNode& n = pool_[ni];
        if (seq_lt(s.next_seq, n.seq)) return;  // still a hole
        const uint32_t end = n.seq + n.len;
        if (seq_lt(s.next_seq, end)) {
            const uint32_t skip = s.next_seq - n.seq;
            deliver(flow, dir, std::span<const uint8_t>(n.data + skip, n.len - skip));
        }
        s.ooo_head = n.next;
        s.ooo_bytes -= n.len;
        pool_.free(ni);
    }
}

void TcpReassembler::skip_to_first_buffered(Flow& flow, Dir dir) {
    TcpStream& s = flow.stream[idx(dir)];
    const uint32_t first = pool_[s.ooo_head].seq;
    declare_gap(flow, dir, first - s.next_seq);
    s.next_seq = first;
    drain(flow, dir);
}

void TcpReassembler::end_direction(Flow& flow, Dir dir) {
    TcpStream& s = flow.stream[idx(dir)];
    release(s);
    s.ended = true;
    consumer_.on_end(flow, dir);
}

void TcpReassembler::flush(Flow& flow) {
    for (Dir dir : {Dir::ToServer, Dir::ToClient}) {
        TcpStream& s = flow.stream[idx(dir)];
        if (s.ended) continue;
        while (s.ooo_head != kNilIndex) skip_to_first_buffered(flow, dir);
        end_direction(flow, dir);
    }
}

void TcpReassembler::release(TcpStream& s) {
    while (s.ooo_head != kNilIndex) {
        const uint32_t ni = s.ooo_head;
        s.ooo_head = pool_[ni].next;
        pool_.free(ni);
    }
    s.ooo_bytes = 0;
    while (s.keep_head != kNilIndex) drop_retained_head(s);
}

void TcpReassembler::retain(TcpStream& s, std::span<const uint8_t> bytes) {
    // After a gap the kept bytes no longer join up with these: start over.
    if (s.keep_tail != kNilIndex && pool_[s.keep_tail].seq + pool_[s.keep_tail].len != s.next_seq)
        while (s.keep_head != kNilIndex) drop_retained_head(s);
    if (s.keep_head == kNilIndex) s.keep_seq = s.next_seq;
    while (!bytes.empty()) {
        SegmentNode* tail = s.keep_tail == kNilIndex ? nullptr : &pool_[s.keep_tail];
        if (tail == nullptr || tail->len == SegmentNode::kCapacity) {
            // Out-of-order data has first call on the pool: retention stops at its half.
            const uint32_t ni = pool_.available() * 2 > pool_.size() ? pool_.alloc() : kNilIndex;
            if (ni == kNilIndex) {
                // Not kept: what was kept before no longer joins up with what follows.
                ++counters_.retain_skipped;
                while (s.keep_head != kNilIndex) drop_retained_head(s);
                s.keep_seq = s.next_seq + static_cast<uint32_t>(bytes.size());
                return;
            }
            SegmentNode& n = pool_[ni];
            n.seq = s.keep_tail == kNilIndex ? s.keep_seq + s.keep_bytes : tail->seq + tail->len;
            n.len = 0;
            n.next = kNilIndex;
            if (tail != nullptr)
                tail->next = ni;
            else
                s.keep_head = ni;
            s.keep_tail = ni;
            tail = &n;
        }
        const size_t take = std::min<size_t>(SegmentNode::kCapacity - tail->len, bytes.size());
        std::memcpy(tail->data + tail->len, bytes.data(), take);
        tail->len = static_cast<uint16_t>(tail->len + take);
        s.keep_bytes += static_cast<uint32_t>(take);
        counters_.retained_bytes += take;
        bytes = bytes.subspan(take);
    }
    while (s.keep_bytes > retain_ && s.keep_head != kNilIndex) drop_retained_head(s);
}

void TcpReassembler::drop_retained_head(TcpStream& s) {
    const uint32_t ni = s.keep_head;
    SegmentNode& n = pool_[ni];
    s.keep_head = n.next;
    if (s.keep_head == kNilIndex) s.keep_tail = kNilIndex;
    s.keep_seq = n.seq + n.len;
    s.keep_bytes -= n.len;
    pool_.free(ni);
}

void TcpReassembler::acknowledged(Flow& flow, Dir dir, uint32_t ack) {
    TcpStream& s = flow.stream[idx(dir)];
    while (s.keep_head != kNilIndex) {
        const SegmentNode& n = pool_[s.keep_head];
        if (seq_lt(ack, n.seq + n.len)) return;
        drop_retained_head(s);
    }
}

Overlap TcpReassembler::compare(const Flow& flow, Dir dir, uint32_t seq,
                                std::span<const uint8_t> payload, const uint32_t* receiver_ack) {
    const TcpStream& s = flow.stream[idx(dir)];
    if (!s.seq_known || payload.empty()) return Overlap::None;
    const uint32_t end = seq + static_cast<uint32_t>(payload.size());
    // Compares [from, to) of the payload with one node's bytes; false on a difference.
    auto same = [&](const SegmentNode& n, uint32_t from, uint32_t to) {
        return std::memcmp(payload.data() + (from - seq), n.data + (from - n.seq), to - from) == 0;
    };
    Overlap result = Overlap::None;
    // Below next_seq: delivered already.
    if (seq_lt(seq, s.next_seq)) {
        const uint32_t upto = seq_lt(end, s.next_seq) ? end : s.next_seq;
        // The part older than what is kept: harmless if the receiver acknowledged it.
        const uint32_t kept_from = s.keep_head == kNilIndex ? s.next_seq : s.keep_seq;
        if (seq_lt(seq, kept_from)) {
            const uint32_t old_end = seq_lt(upto, kept_from) ? upto : kept_from;
            if (receiver_ack == nullptr || seq_lt(*receiver_ack, old_end))
                result = Overlap::Unverified;
        }
        for (uint32_t ni = s.keep_head; ni != kNilIndex; ni = pool_[ni].next) {
            const SegmentNode& n = pool_[ni];
            const uint32_t from = seq_lt(seq, n.seq) ? n.seq : seq;
            const uint32_t nend = n.seq + n.len;
            const uint32_t to = seq_lt(upto, nend) ? upto : nend;
            if (seq_lt(from, to) && !same(n, from, to)) return Overlap::Conflict;
            if (!seq_lt(nend, upto)) break;
        }
    }
    // Above next_seq: buffered out of order (first arrival wins there too).
    for (uint32_t ni = s.ooo_head; ni != kNilIndex; ni = pool_[ni].next) {
        const SegmentNode& n = pool_[ni];
        if (!seq_lt(n.seq, end)) break;
        const uint32_t from = seq_lt(seq, n.seq) ? n.seq : seq;
        const uint32_t nend = n.seq + n.len;
        const uint32_t to = seq_lt(end, nend) ? end : nend;
        if (seq_lt(from, to) && !same(n, from, to)) return Overlap::Conflict;
    }
    return result;
}

}  // namespace sluice
