// Secrets pushed at run time (a key log being followed, later the control plane) travel to
// each worker through its own single-producer/single-consumer queue; the worker drains it
// between bursts into its own store. No locks on either side.
#pragma once

#include <boost/lockfree/spsc_queue.hpp>

#include "tls/keylog.h"

namespace sluice::tls {

class SecretFeed {
  public:
    explicit SecretFeed(size_t capacity = 4096) : queue_(capacity) {}
    // Producer side (one thread). False when the queue is full (counted by the caller).
    bool push(const SecretUpdate& u) { return queue_.push(u); }
    // Consumer side (the worker).
    template <typename Fn>
    size_t drain(Fn&& fn) {
        return queue_.consume_all(fn);
    }
    bool empty() const { return queue_.read_available() == 0; }

  private:
    boost::lockfree::spsc_queue<SecretUpdate> queue_;
};

}  // namespace sluice::tls
