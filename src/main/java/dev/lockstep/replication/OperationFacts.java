package dev.lockstep.replication;

import org.jspecify.annotations.Nullable;

/**
 * What a report says about the request beside its steps: the fields of
 * {@link OperationReport} that only some operations have.
 */
record OperationFacts(@Nullable ReplicationMode mode, @Nullable Boolean failover, @Nullable Boolean forced,
		@Nullable String peerCheck, @Nullable Boolean discardLocalChanges) {

	static OperationFacts start(ReplicationMode mode, StartOptions options) {
		return new OperationFacts(mode, null, null, null, options.discardLocalChanges() ? Boolean.TRUE : null);
	}

	static OperationFacts checkpoint(@Nullable ReplicationMode mode) {
		return new OperationFacts(mode, null, null, null, null);
	}

	static OperationFacts stop(boolean failover, boolean forced, @Nullable String peerCheck) {
		return new OperationFacts(null, failover, forced, peerCheck, null);
	}

}
