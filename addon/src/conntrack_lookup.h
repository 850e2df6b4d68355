// JavaScript's handle on a ConntrackClient: lookup() takes a batch of original tuples and
// returns a promise of the backend behind each, answered on the client's thread, never on
// the JavaScript thread. One client per instance: nothing is shared between environments.
#pragma once
#include <napi.h>

#include <memory>

#include "conntrack_client.h"

namespace sockscope {

class ConntrackLookup : public Napi::ObjectWrap<ConntrackLookup> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit ConntrackLookup(const Napi::CallbackInfo& info);

 private:
  // lookup([{family: 4|6, protocol: 'tcp'|'udp', source, sourcePort, destination, destinationPort}])
  //   -> Promise<[{outcome, backend}]>
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  // Why conntrack is unusable, or "".
  Napi::Value UnavailableReason(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  std::unique_ptr<ConntrackClient> client_;
};

}  // namespace sockscope
