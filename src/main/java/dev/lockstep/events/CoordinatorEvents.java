package dev.lockstep.events;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.OperationListener;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.StepReport;
import org.jspecify.annotations.Nullable;

/**
 * Publishes what the coordinator announces as {@code operation} and {@code state} events.
 */
final class CoordinatorEvents implements OperationListener {

	private final EventLog log;

	CoordinatorEvents(EventLog log) {
		this.log = log;
	}

	@Override
	public void operationStarted(OperationReport report) {
		this.log.publish("operation", new OperationEvent("started", null, report));
	}

	@Override
	public void stepFinished(OperationReport report, StepReport step) {
		this.log.publish("operation", new OperationEvent("step", step, report));
	}

	@Override
	public void operationFinished(OperationReport report) {
		this.log.publish("operation", new OperationEvent("finished", null, report));
	}

	@Override
	public void stateChanged(CoordinatorState previous, CoordinatorState state, @Nullable ReplicationMode mode) {
		Map<String, Object> data = new LinkedHashMap<>();
		data.put("state", state);
		data.put("previous", previous);
		data.put("mode", mode);
		this.log.publish("state", data);
	}

	/**
	 * The data of an {@code operation} event.
	 *
	 * @param phase {@code started}, {@code step} or {@code finished}
	 * @param step for {@code step}, the participant call that ended
	 * @param report the report so far, or the final one
	 */
	record OperationEvent(String phase, @Nullable StepReport step, OperationReport report) {
	}

}
