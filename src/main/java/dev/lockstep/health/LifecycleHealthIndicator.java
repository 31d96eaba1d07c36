package dev.lockstep.health;

import java.time.Clock;

import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.RunningOperation;
import dev.lockstep.replication.SweepResult;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The {@code lifecycle} health indicator, part of the liveness group. It is DOWN only
 * when the coordinator itself is wedged: the error sweep cannot finish within its
 * deadline, or an operation has run past its hard deadline. A participant that
 * <em>reports</em> an error leaves it UP unless
 * {@code lockstep.health.liveness-includes-participant-errors} is set.
 */
final class LifecycleHealthIndicator extends AbstractHealthIndicator {

	private final ReplicationCoordinator coordinator;

	private final HealthProperties properties;

	private final Clock clock;

	LifecycleHealthIndicator(ReplicationCoordinator coordinator, HealthProperties properties, Clock clock) {
		super("Lifecycle health check failed");
		this.coordinator = coordinator;
		this.properties = properties;
		this.clock = clock;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		SweepResult sweep = this.coordinator.errorSweep().sweep();
		RunningOperation running = this.coordinator.runningOperation().orElse(null);
		builder.up().withDetail("state", this.coordinator.state());
		if (running != null) {
			builder.withDetail("runningOperation", running);
			if (running.isOverdue(this.clock.instant())) {
				builder.down()
					.withDetail("reason", "the " + running.operation().value()
							+ " operation has run past its hard deadline of " + running.hardDeadline());
			}
		}
		if (!sweep.complete()) {
			builder.down()
				.withDetail("reason",
						"the error sweep did not finish within "
								+ this.coordinator.errorSweep().errorTimeout().toMillis() + "ms")
				.withDetail("errors", sweep.errors());
		}
		else if (this.properties.livenessIncludesParticipantErrors() && !sweep.healthy()) {
			builder.down().withDetail("errors", sweep.errors());
		}
	}

}
