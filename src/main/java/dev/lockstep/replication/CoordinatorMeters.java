package dev.lockstep.replication;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The coordinator's meters: its state ({@code lockstep.state}), its operations
 * ({@code lockstep.operations}, with histogram buckets), every participant call
 * ({@code lockstep.participant.calls}) and the paused time around checkpoints
 * ({@code lockstep.pair.pause}).
 */
final class CoordinatorMeters {

	private final MeterRegistry registry;

	private final Map<CallKey, Timer> calls = new ConcurrentHashMap<>();

	private final Map<String, Timer> operations = new ConcurrentHashMap<>();

	private final Timer pause;

	CoordinatorMeters(MeterRegistry registry, Supplier<CoordinatorState> state) {
		this.registry = registry;
		this.pause = Timer.builder("lockstep.pair.pause")
			.description("How long the workload was paused around a checkpoint, from the start of the pause to the "
					+ "end of the resume")
			.publishPercentileHistogram()
			.register(registry);
		for (CoordinatorState candidate : CoordinatorState.values()) {
			Gauge.builder("lockstep.state", state, (current) -> (current.get() == candidate) ? 1 : 0)
				.tag("state", candidate.name())
				.description("1 for the coordinator's current lifecycle state, 0 for the others")
				// The registry holds a gauge's object weakly, and nothing else holds this
				// supplier: without this the gauge turns NaN at the first garbage
				// collection.
				.strongReference(true)
				.register(registry);
		}
	}

	/** Records one operation. */
	void operation(Operation operation, OperationOutcome outcome, long nanos) {
		this.operations
			.computeIfAbsent(operation.value() + "/" + outcome.value(),
					(key) -> Timer.builder("lockstep.operations")
						.tag("operation", operation.value())
						.tag("outcome", outcome.value())
						.description("Lifecycle operations")
						// Buckets for checkpoint latency quantiles (histogram_quantile).
						.publishPercentileHistogram()
						.register(this.registry))
			.record(Math.max(0, nanos), TimeUnit.NANOSECONDS);
	}

	/** Records one participant call; the shape of {@link OperationRun.CallListener}. */
	void call(RegisteredParticipant participant, StepAction action, StepOutcome outcome, long nanos) {
		this.calls
			.computeIfAbsent(new CallKey(participant.name(), action, outcome),
					(key) -> Timer.builder("lockstep.participant.calls")
						.tag("participant", key.participant())
						.tag("action", key.action().value())
						.tag("outcome", key.outcome().value())
						.description("Participant lifecycle calls")
						.register(this.registry))
			.record(nanos, TimeUnit.NANOSECONDS);
	}

	/** Records how long the workload was paused. */
	void paused(long nanos) {
		this.pause.record(nanos, TimeUnit.NANOSECONDS);
	}

	private record CallKey(String participant, StepAction action, StepOutcome outcome) {
	}

}
