package dev.lockstep.replication;

/**
 * What a start asks for beyond its mode.
 *
 * @param discardLocalChanges only with {@link ReplicationMode#SECONDARY}: this node's
 * data may be overwritten by the primary's, including changes it made after the two nodes
 * separated, as DRBD's {@code --discard-my-data}. The way out of a split brain, chosen by
 * the operator on the node whose changes are lost.
 */
public record StartOptions(boolean discardLocalChanges) {

	/** A plain start. */
	public static final StartOptions NONE = new StartOptions(false);

}
