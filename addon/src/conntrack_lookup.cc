#include "conntrack_lookup.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <utility>
#include <vector>

namespace sockscope {

namespace {

bool ParseTuple(const Napi::Object& o, ConntrackTuple& t) {
  t = ConntrackTuple{};
  t.family = o.Get("family").ToNumber().Int32Value() == 6 ? AF_INET6 : AF_INET;
  std::string protocol = o.Get("protocol").ToString().Utf8Value();
  if (protocol != "tcp" && protocol != "udp") return false;
  t.protocol = protocol == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
  std::string source = o.Get("source").ToString().Utf8Value();
  std::string destination = o.Get("destination").ToString().Utf8Value();
  if (inet_pton(t.family, source.c_str(), t.src) != 1) return false;
  if (inet_pton(t.family, destination.c_str(), t.dst) != 1) return false;
  t.sport = static_cast<uint16_t>(o.Get("sourcePort").ToNumber().Uint32Value());
  t.dport = static_cast<uint16_t>(o.Get("destinationPort").ToNumber().Uint32Value());
  return true;
}

}  // namespace

Napi::Function ConntrackLookup::Init(Napi::Env env) {
  return DefineClass(env, "ConntrackLookup",
                     {
                         InstanceMethod("lookup", &ConntrackLookup::Lookup),
                         InstanceMethod("unavailableReason", &ConntrackLookup::UnavailableReason),
                         InstanceMethod("close", &ConntrackLookup::Close),
                     });
}

ConntrackLookup::ConntrackLookup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConntrackLookup>(info) {
  std::string netns;
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Value v = info[0].As<Napi::Object>().Get("netns");
    if (v.IsString()) netns = v.As<Napi::String>().Utf8Value();
  }
  client_ = std::make_unique<ConntrackClient>(netns);
}

Napi::Value ConntrackLookup::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (!client_ || info.Length() < 1 || !info[0].IsArray()) {
    deferred.Reject(Napi::TypeError::New(env, client_ ? "lookup() takes an array of tuples" : "closed").Value());
    return deferred.Promise();
  }
  Napi::Array in = info[0].As<Napi::Array>();
  std::vector<ConntrackTuple> tuples(in.Length());
  for (uint32_t i = 0; i < in.Length(); i++) {
    if (!in.Get(i).IsObject() || !ParseTuple(in.Get(i).As<Napi::Object>(), tuples[i])) {
      deferred.Reject(Napi::TypeError::New(env, "lookup(): tuple " + std::to_string(i) + " is not a tcp/udp tuple of addresses").Value());
      return deferred.Promise();
    }
  }
  auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                            "sockscope-conntrack", 0, 1);
  client_->Lookup(std::move(tuples), [tsfn, deferred](std::vector<ConntrackAnswer> answers) mutable {
    auto* data = new std::vector<ConntrackAnswer>(std::move(answers));
    napi_status status = tsfn.BlockingCall(data, [deferred](Napi::Env env, Napi::Function, std::vector<ConntrackAnswer>* a) {
      Napi::Array out = Napi::Array::New(env, a->size());
      for (size_t i = 0; i < a->size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("outcome", (*a)[i].outcome);
        o.Set("backend", (*a)[i].backend);
        out.Set(static_cast<uint32_t>(i), o);
      }
      delete a;
      deferred.Resolve(out);
    });
    if (status != napi_ok) delete data;  // the environment is going away
    tsfn.Release();
  });
  return deferred.Promise();
}

Napi::Value ConntrackLookup::UnavailableReason(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), client_ ? client_->unavailable_reason() : "");
}

void ConntrackLookup::Close(const Napi::CallbackInfo&) {
  // Answers what is queued, then joins the thread.
  client_.reset();
}

}  // namespace sockscope
