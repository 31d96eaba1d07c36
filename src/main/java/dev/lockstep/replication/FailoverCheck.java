package dev.lockstep.replication;

/**
 * What a {@link FailoverGuard} found out.
 *
 * @param refused whether the failover must not go ahead: the primary is still alive
 * @param peer the peer that was asked, as an operator would name it
 * @param answer what the peer answered, as a phrase such as {@code "running as primary"}
 * or {@code "did not answer within 2s"}
 */
public record FailoverCheck(boolean refused, String peer, String answer) {

	/**
	 * A check that lets the failover proceed.
	 */
	public static FailoverCheck proceed(String peer, String answer) {
		return new FailoverCheck(false, peer, answer);
	}

	/**
	 * A check that refuses the failover.
	 */
	public static FailoverCheck refuse(String peer, String answer) {
		return new FailoverCheck(true, peer, answer);
	}

	/**
	 * Returns the check as one sentence for reports and logs, such as
	 * {@code "peer http://10.0.0.2:8080 answered: running as secondary"}.
	 */
	public String describe() {
		return "peer " + this.peer + " " + this.answer;
	}

}
