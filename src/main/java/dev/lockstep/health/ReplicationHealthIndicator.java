package dev.lockstep.health;

import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.SweepResult;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

/**
 * The {@code replication} health indicator: runs the error sweep and is UP only when no
 * participant reports an error. It belongs to the readiness group.
 */
final class ReplicationHealthIndicator extends AbstractHealthIndicator {

	private final ReplicationCoordinator coordinator;

	ReplicationHealthIndicator(ReplicationCoordinator coordinator) {
		super("Replication health check failed");
		this.coordinator = coordinator;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		SweepResult sweep = this.coordinator.errorSweep().sweep();
		builder.status(sweep.healthy() ? Status.UP : Status.DOWN)
			.withDetail("state", this.coordinator.state())
			.withDetail("errors", sweep.errors())
			.withDetail("checkedAt", sweep.checkedAt());
		this.coordinator.mode().ifPresent((mode) -> builder.withDetail("mode", mode));
	}

}
