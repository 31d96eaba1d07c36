package dev.lockstep.pair;

/**
 * A pair operation that ran and failed; carries its report.
 */
public final class PairFailedException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	private final transient PairReport report;

	/**
	 * Makes the exception a failed pair operation answers with.
	 * @param report the failed operation's report
	 */
	public PairFailedException(PairReport report) {
		super(String.valueOf(report.error()));
		this.report = report;
	}

	public PairReport report() {
		return this.report;
	}

}
