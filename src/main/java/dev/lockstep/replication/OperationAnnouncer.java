package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Keeps the report of the operation in progress as it grows, and tells every
 * {@link OperationListener} about it.
 */
final class OperationAnnouncer {

	private static final Log logger = LogFactory.getLog(OperationAnnouncer.class);

	private final List<OperationListener> listeners = new CopyOnWriteArrayList<>();

	private final Clock clock;

	private volatile @Nullable Progress progress;

	OperationAnnouncer(Clock clock) {
		this.clock = clock;
	}

	void add(OperationListener listener) {
		this.listeners.add(listener);
	}

	void remove(OperationListener listener) {
		this.listeners.remove(listener);
	}

	/**
	 * Records that an operation began; called with the coordinator's monitor held, so
	 * nobody is told yet.
	 */
	void begin(RunningOperation operation, OperationFacts facts, @Nullable String caller, CoordinatorState state) {
		this.progress = new Progress(operation, facts, caller, state);
	}

	/**
	 * Tells the listeners that the operation begun last has started.
	 */
	void announceStart() {
		Progress current = this.progress;
		if (current != null) {
			OperationReport report = current.report(this.clock);
			notify((listener) -> listener.operationStarted(report));
		}
	}

	/**
	 * Adds a finished participant call to the report so far.
	 */
	void step(StepReport step) {
		Progress current = this.progress;
		if (current != null) {
			OperationReport report = current.add(step, this.clock);
			notify((listener) -> listener.stepFinished(report, step));
		}
	}

	/**
	 * Announces the end of an operation, once its report is in the history.
	 */
	void finished(OperationReport report, CoordinatorState previous) {
		Progress current = this.progress;
		if (current != null && current.operation.id().equals(report.id())) {
			this.progress = null;
		}
		notify((listener) -> listener.operationFinished(report));
		if (previous != report.state()) {
			notify((listener) -> listener.stateChanged(previous, report.state(), report.mode()));
		}
	}

	/**
	 * Returns the report so far of the operation in progress, if it has this id.
	 */
	Optional<OperationReport> running(String id) {
		Progress current = this.progress;
		if (current == null || !current.operation.id().equals(id)) {
			return Optional.empty();
		}
		return Optional.of(current.report(this.clock));
	}

	private void notify(Consumer<OperationListener> event) {
		for (OperationListener listener : this.listeners) {
			try {
				event.accept(listener);
			}
			catch (RuntimeException ex) {
				logger.warn("Operation listener " + listener.getClass().getName() + " failed", ex);
			}
		}
	}

	/**
	 * The operation in progress and its steps so far.
	 */
	private static final class Progress {

		private final RunningOperation operation;

		private final OperationFacts facts;

		private final @Nullable String caller;

		private final CoordinatorState state;

		/** Guarded by this. */
		private final List<StepReport> steps = new ArrayList<>();

		Progress(RunningOperation operation, OperationFacts facts, @Nullable String caller, CoordinatorState state) {
			this.operation = operation;
			this.facts = facts;
			this.caller = caller;
			this.state = state;
		}

		synchronized OperationReport add(StepReport step, Clock clock) {
			this.steps.add(step);
			return report(clock);
		}

		synchronized OperationReport report(Clock clock) {
			long millis = Math.max(0, Duration.between(this.operation.startedAt(), clock.instant()).toMillis());
			return new OperationReport(this.operation.id(), this.operation.operation(), this.facts.mode(),
					this.facts.failover(), OperationOutcome.RUNNING, this.state, this.caller,
					this.operation.startedAt(), millis, this.steps, this.facts.forced(), this.facts.peerCheck(),
					this.facts.discardLocalChanges());
		}

	}

}
