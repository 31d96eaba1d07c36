package dev.lockstep.health;

import java.time.Clock;

import dev.lockstep.replication.ReplicationCoordinator;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Registers the {@code replication} (readiness) and {@code lifecycle} (liveness) health
 * indicators, and the {@code lockstep.health} gauge of the readiness and liveness groups.
 * The groups themselves are configured in {@code application.yaml}.
 */
@Configuration(proxyBeanMethods = false)
class HealthConfiguration {

	@Bean
	ReplicationHealthIndicator replicationHealthIndicator(ReplicationCoordinator coordinator) {
		return new ReplicationHealthIndicator(coordinator);
	}

	@Bean
	LifecycleHealthIndicator lifecycleHealthIndicator(ReplicationCoordinator coordinator, HealthProperties properties) {
		return new LifecycleHealthIndicator(coordinator, properties, Clock.systemUTC());
	}

	@Bean
	HealthGroupMeters healthGroupMeters(ObjectProvider<HealthEndpoint> endpoint) {
		return new HealthGroupMeters(endpoint);
	}

}
