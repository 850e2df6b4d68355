/**
 * Bytes, calls and RTT samples of flows, folded into their exported series. Work is
 * per flow per drain, never per kernel event.
 */
import type { FlowDelta } from '../collector/types';
import type { AttributePolicy } from './attribute-policy';
import type { Attributor } from './attributor';
import { ATTR_DIRECTION, NETWORK_IO, NETWORK_MESSAGES, RTT } from './definitions';
import type { HistogramStore } from './explicit-histogram';
import type { CountStore } from './series-store';

export interface FlowStores {
  bytes: CountStore;
  messages: CountStore;
  rtt: HistogramStore;
}

export class FlowMetrics {
  constructor(
    readonly stores: FlowStores,
    private readonly policy: AttributePolicy,
    private readonly attributor: Attributor,
  ) {}

  add(flows: readonly FlowDelta[]): void {
    for (const f of flows) {
      const candidates = this.attributor.flow(f);
      for (const [direction, bytes, calls] of [
        ['transmit', f.txBytes, f.txMessages],
        ['receive', f.rxBytes, f.rxMessages],
      ] as const) {
        if (calls === 0) continue;
        candidates[ATTR_DIRECTION] = direction;
        this.stores.bytes.add(this.policy.select(NETWORK_IO.name, candidates), bytes);
        this.stores.messages.add(this.policy.select(NETWORK_MESSAGES.name, candidates), calls);
      }
      // One RTT sample per TCP flow per interval (see docs/counting.md).
      if (f.srttMicros > 0) this.stores.rtt.record(this.policy.select(RTT.name, candidates), f.srttMicros / 1e6);
    }
  }
}
