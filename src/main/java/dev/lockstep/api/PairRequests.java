package dev.lockstep.api;

import java.util.Optional;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

import dev.lockstep.pair.PairFailedException;
import dev.lockstep.pair.PairOperations;
import dev.lockstep.pair.PairReport;
import dev.lockstep.replication.CoordinatorProperties;

/**
 * Runs pair operations as their requests' {@code Prefer} and {@code Idempotency-Key}
 * headers ask ({@link AsyncCalls}); an asynchronous pair call is polled at
 * {@code /api/v1/pair/operations/{id}}.
 */
@Component
class PairRequests implements DisposableBean {

	static final String OPERATIONS = "/api/v1/pair/operations/";

	private final AsyncCalls<PairReport> calls;

	PairRequests(ObjectProvider<PairOperations> pair, ObjectProvider<CoordinatorProperties> properties) {
		this.calls = new AsyncCalls<>("lockstep-pair-operation",
				properties.getIfAvailable(CoordinatorProperties::defaults).history(), new Reports(pair));
	}

	AsyncCalls<PairReport> calls() {
		return this.calls;
	}

	@Override
	public void destroy() {
		this.calls.shutdown();
	}

	private record Reports(ObjectProvider<PairOperations> pair) implements AsyncCalls.Reports<PairReport> {

		@Override
		public String id(PairReport report) {
			return report.id();
		}

		@Override
		public Optional<PairReport> find(String id) {
			PairOperations operations = this.pair.getIfAvailable();
			return (operations != null) ? operations.report(id) : Optional.empty();
		}

		@Override
		public boolean running(PairReport report) {
			return report.running();
		}

		@Override
		public String location(PairReport report) {
			return OPERATIONS + report.id();
		}

		@Override
		public @Nullable RuntimeException failure(PairReport report) {
			return report.succeeded() ? null : new PairFailedException(report);
		}

	}

}
