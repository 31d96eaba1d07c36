package dev.lockstep.health;

import java.util.List;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.actuate.endpoint.HealthDescriptor;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.contributor.Status;

/**
 * The gauge {@code lockstep.health} (tag {@code group}): 1 while the {@code readiness} or
 * {@code liveness} group is UP, as the probes see it, 0 otherwise. Each scrape asks the
 * health endpoint, whose error sweep is cached for
 * {@code lockstep.coordinator.error-cache-ttl}.
 */
final class HealthGroupMeters implements MeterBinder {

	static final List<String> GROUPS = List.of("readiness", "liveness");

	private final ObjectProvider<HealthEndpoint> endpoint;

	HealthGroupMeters(ObjectProvider<HealthEndpoint> endpoint) {
		this.endpoint = endpoint;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (String group : GROUPS) {
			Gauge.builder("lockstep.health", () -> up(group))
				.tag("group", group)
				.description("1 while the health group is UP, as its probe sees it, 0 otherwise")
				.register(registry);
		}
	}

	private int up(String group) {
		HealthEndpoint health = this.endpoint.getIfAvailable();
		if (health == null) {
			return 0;
		}
		HealthDescriptor descriptor = health.healthForPath(group);
		return (descriptor != null && Status.UP.equals(descriptor.getStatus())) ? 1 : 0;
	}

}
