package dev.lockstep.pair;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;

/** The steps of a pair operation as they happen. */
final class PairRun {

	private final String id;

	private final String operation;

	private final String caller;

	private final @Nullable String requestedBy;

	private final Clock clock;

	private final Instant startedAt;

	private final Consumer<PairReport> progress;

	/** Who hears of the start; {@code null} once told, when the operation has started. */
	private @Nullable Consumer<PairReport> announceStart;

	private final List<PairStep> steps = new ArrayList<>();

	private @Nullable PairNode primary;

	private @Nullable String note;

	private @Nullable String error;

	private @Nullable Long pausedMillis;

	/**
	 * Starts recording a pair operation.
	 * @param id the operation's id
	 * @param operation its name
	 * @param caller how the nodes are told who asks
	 * @param requestedBy who asked, for the report
	 * @param clock the clock
	 * @param started told once, with the report so far, just before the first node is
	 * called: a pair operation refused before that never started
	 * @param progress told the report so far after every call of a node
	 */
	PairRun(String id, String operation, String caller, @Nullable String requestedBy, Clock clock,
			Consumer<PairReport> started, Consumer<PairReport> progress) {
		this.id = id;
		this.operation = operation;
		this.caller = caller;
		this.requestedBy = requestedBy;
		this.clock = clock;
		this.startedAt = clock.instant();
		this.progress = progress;
		this.announceStart = started;
	}

	String caller() {
		return this.caller;
	}

	/** Calls a node; records its steps and, on failure, the first error. */
	boolean call(PairMember member, Function<PairMember, MemberAnswer> call) {
		Consumer<PairReport> announce = this.announceStart;
		if (announce != null) {
			this.announceStart = null;
			PairReport report = progress();
			this.progress.accept(report);
			announce.accept(report);
		}
		MemberAnswer answer = call.apply(member);
		this.steps.addAll(answer.steps());
		if (!answer.succeeded() && this.error == null) {
			this.error = "The " + member.node().value() + " node failed: " + answer.message();
		}
		this.progress.accept(progress());
		return answer.succeeded();
	}

	/** Whether a node has been called, so that the operation counts as started. */
	boolean started() {
		return this.announceStart == null;
	}

	String error() {
		return String.valueOf(this.error);
	}

	void fail(String message) {
		this.error = message;
	}

	void primary(@Nullable PairNode node) {
		this.primary = node;
	}

	void paused(long millis) {
		this.pausedMillis = millis;
	}

	void note(String text) {
		this.note = text;
	}

	/** The report so far: outcome {@code running}, the steps taken until now. */
	PairReport progress() {
		return report(PairReport.RUNNING);
	}

	/** The final report. */
	PairReport report() {
		return report((this.error == null) ? PairReport.SUCCEEDED : PairReport.FAILED);
	}

	private PairReport report(String outcome) {
		return new PairReport(this.id, this.operation, outcome, this.primary, this.requestedBy, this.startedAt,
				Duration.between(this.startedAt, this.clock.instant()).toMillis(), this.steps, this.note, this.error,
				this.pausedMillis);
	}

}
