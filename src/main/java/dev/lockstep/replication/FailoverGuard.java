package dev.lockstep.replication;

/**
 * Consulted by the coordinator before a failover stop while this node runs as secondary,
 * before any participant is called. An implementation asks whether the primary is still
 * alive; it must answer within its own short deadline and never throw.
 */
@FunctionalInterface
public interface FailoverGuard {

	/**
	 * Decides whether this node may fail over now.
	 * @return the verdict, with what the peer answered
	 */
	FailoverCheck check();

}
