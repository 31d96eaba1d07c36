package dev.lockstep.api;

import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.OperationListener;
import dev.lockstep.replication.OperationOutcome;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ReplicationCoordinator;

/**
 * Runs the node's lifecycle operations as their requests' {@code Prefer} and
 * {@code Idempotency-Key} headers ask ({@link AsyncCalls}). The coordinator announces an
 * operation's start through {@link OperationListener#operationStarted} on the thread that
 * asked for it, which is when an asynchronous request is answered.
 */
@Component
class OperationRequests implements OperationListener, DisposableBean {

	static final String OPERATIONS = "/api/v1/replication/operations/";

	/** Where the operation the current thread runs announces its start. */
	private static final ThreadLocal<@Nullable Consumer<OperationReport>> current = new ThreadLocal<>();

	private final AsyncCalls<OperationReport> calls;

	OperationRequests(ReplicationCoordinator coordinator, ObjectProvider<CoordinatorProperties> properties) {
		this.calls = new AsyncCalls<>("lockstep-operation",
				properties.getIfAvailable(CoordinatorProperties::defaults).history(), new Reports(coordinator));
	}

	/**
	 * Runs an operation for a request, or answers a retry of an earlier one.
	 * @param http the request
	 * @param fingerprint what the request asks for
	 * @param operation runs the operation and returns its final report
	 * @return {@code 202} with the report so far, or {@code 200} with the final report
	 * @throws OperationFailedException if the operation (or the one retried) failed
	 */
	ResponseEntity<OperationReport> run(HttpServletRequest http, String fingerprint,
			Supplier<OperationReport> operation) {
		return this.calls.run(http, fingerprint, (started) -> {
			current.set(started);
			try {
				return operation.get();
			}
			finally {
				current.remove();
			}
		});
	}

	@Override
	public void operationStarted(OperationReport report) {
		Consumer<OperationReport> started = current.get();
		if (started != null) {
			started.accept(report);
		}
	}

	@Override
	public void destroy() {
		this.calls.shutdown();
	}

	private record Reports(ReplicationCoordinator coordinator) implements AsyncCalls.Reports<OperationReport> {

		@Override
		public String id(OperationReport report) {
			return report.id();
		}

		@Override
		public Optional<OperationReport> find(String id) {
			return this.coordinator.operation(id);
		}

		@Override
		public boolean running(OperationReport report) {
			return report.outcome() == OperationOutcome.RUNNING;
		}

		@Override
		public String location(OperationReport report) {
			return OPERATIONS + report.id();
		}

		@Override
		public @Nullable RuntimeException failure(OperationReport report) {
			return (report.outcome() == OperationOutcome.FAILED) ? new OperationFailedException(report) : null;
		}

	}

}
