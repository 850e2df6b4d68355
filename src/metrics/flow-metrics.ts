/**
 * Bytes, calls and RTT samples of flows, folded into their exported series. Work is
 * per flow per drain, never per kernel event.
 */
import type { Attributes } from '@opentelemetry/api';
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

  /** One flow's interval; keeps nothing of `f` but its values. Bound: a FlowSource visitor. */
  readonly addOne = (f: FlowDelta): void => {
    const candidates = this.attributor.flow(f);
    if (f.txMessages > 0) this.direction(candidates, 'transmit', f.txBytes, f.txMessages);
    if (f.rxMessages > 0) this.direction(candidates, 'receive', f.rxBytes, f.rxMessages);
    // One RTT sample per TCP flow per interval (see docs/counting.md).
    if (f.srttMicros > 0) this.policy.entryIn(this.stores.rtt, RTT.name, candidates).value.record(f.srttMicros / 1e6);
  };

  private direction(candidates: Attributes, direction: 'transmit' | 'receive', bytes: number, calls: number): void {
    candidates[ATTR_DIRECTION] = direction;
    this.policy.entryIn(this.stores.bytes, NETWORK_IO.name, candidates).value.value += bytes;
    this.policy.entryIn(this.stores.messages, NETWORK_MESSAGES.name, candidates).value.value += calls;
  }
}
