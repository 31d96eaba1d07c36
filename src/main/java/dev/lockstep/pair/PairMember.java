package dev.lockstep.pair;

import dev.lockstep.replication.ReplicationMode;

/**
 * One node of the pair as a pair operation drives it: this node through its coordinator,
 * the peer through its lifecycle API. Every call answers; none throws for a failure of
 * the node.
 */
interface PairMember {

	/** Which node this is. */
	PairNode node();

	/**
	 * The node's status.
	 * @throws PairRefusedException if it cannot be known (the peer is unreachable)
	 */
	MemberStatus status();

	/** Starts the node's participants in {@code mode}. */
	MemberAnswer start(ReplicationMode mode, String caller);

	/** Takes a checkpoint on the node's participants. */
	MemberAnswer checkpoint(String caller);

	/**
	 * Pauses the workload of the node's participants, within
	 * {@code lockstep.pair.max-pause}.
	 */
	MemberAnswer pause(String caller);

	/** Resumes the workload of the node's paused participants. */
	MemberAnswer resume(String caller);

	/** Stops the node's participants, as planned. */
	MemberAnswer stop(String caller);

}
