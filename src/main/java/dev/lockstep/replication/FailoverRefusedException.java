package dev.lockstep.replication;

/**
 * Thrown when a failover stop is refused because the peer is still running as primary:
 * failing over now would leave two primaries writing (a split brain). No participant was
 * called and the coordinator's state is unchanged.
 */
public final class FailoverRefusedException extends RuntimeException {

	private final FailoverCheck check;

	public FailoverRefusedException(FailoverCheck check) {
		super("The peer " + check.peer() + " " + check.answer() + ": the primary is alive, and failing over now "
				+ "would make a split brain, two primaries writing the same disks. Stop the primary first; if it is in "
				+ "fact not serving its disks, force the failover with {\"failover\":true,\"force\":true}");
		this.check = check;
	}

	/**
	 * Returns the check that refused the failover.
	 */
	public FailoverCheck check() {
		return this.check;
	}

}
