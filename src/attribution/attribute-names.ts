/**
 * Attribute names for attribution, from the OpenTelemetry semantic conventions
 * (container.*, k8s.*). These are still "development" stability in semconv, so,
 * like the OpenTelemetry JS SDK does for unstable conventions, they are local copies
 * rather than an import from @opentelemetry/semantic-conventions/incubating.
 */

export const ATTR_CONTAINER_ID = 'container.id';
/** Replaces the deprecated `container.runtime` in current semconv. */
export const ATTR_CONTAINER_RUNTIME_NAME = 'container.runtime.name';
export const ATTR_K8S_POD_UID = 'k8s.pod.uid';
export const ATTR_K8S_POD_NAME = 'k8s.pod.name';
export const ATTR_K8S_NAMESPACE_NAME = 'k8s.namespace.name';
export const ATTR_K8S_CONTAINER_NAME = 'k8s.container.name';
/**
 * Not in semconv. The OpenTelemetry Collector's systemd receiver names its unit
 * resource attribute this way, so sockscope series can be joined with its metrics.
 * `service.name` is not used: it names the telemetry producer (sockscope itself).
 */
export const ATTR_SYSTEMD_UNIT_NAME = 'systemd.unit.name';
