package dev.lockstep.pair;

import java.time.Clock;
import java.util.UUID;
import java.util.function.Consumer;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.logging.LogText;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the {@link PairOperations} one at a time: refuses one while another runs or while
 * either node runs an operation of its own, records its steps in a {@link PairRun}, and
 * keeps its report and sends it to the peer.
 */
final class PairRunner {

	// The operations' log lines, under the name they are configured and searched by
	private static final Log logger = LogFactory.getLog(PairOperations.class);

	private final PairMember self;

	private final @Nullable PeerApi peerApi;

	private final JsonMapper jsonMapper;

	private final PairReports reports;

	private final Clock clock;

	private final Object monitor = new Object();

	private @Nullable String running;

	PairRunner(PairMember self, @Nullable PeerApi peerApi, JsonMapper jsonMapper, PairReports reports, Clock clock) {
		this.self = self;
		this.peerApi = peerApi;
		this.jsonMapper = jsonMapper;
		this.reports = reports;
		this.clock = clock;
	}

	/**
	 * Runs a pair operation with the peer {@code other}.
	 * @param other the peer
	 * @param operation the operation's name
	 * @param caller who asks
	 * @param started receives the report, outcome {@code running}, once the operation has
	 * started
	 * @param body the operation's steps
	 * @return the final report
	 * @throws PairRefusedException if a pair operation runs already, or a node is busy
	 */
	PairReport run(PairMember other, String operation, @Nullable String caller, Consumer<PairReport> started,
			Body body) {
		synchronized (this.monitor) {
			if (this.running != null) {
				throw new PairRefusedException(
						"A pair " + this.running + " runs on this node; retry when it has " + "finished", false);
			}
			this.running = operation;
		}
		try {
			MemberStatus mine = this.self.status();
			MemberStatus theirs = other.status();
			if (mine.busy() || theirs.busy()) {
				throw new PairRefusedException("Cannot run a pair " + operation + ": "
						+ (mine.busy() ? "this node" : "the peer") + " runs an operation; retry when it has finished",
						false);
			}
			PairRun run = new PairRun(newId(), operation,
					"pair " + operation + ((caller != null) ? " by " + caller : ""), caller, this.clock, started,
					this.reports::add);
			try {
				body.run(run, mine, theirs);
			}
			catch (RuntimeException ex) {
				if (!run.started()) {
					throw ex;
				}
				// A report already shown as running ends as failed, never stays running.
				logger.error("Pair " + operation + " " + run.progress().id() + " failed unexpectedly", ex);
				run.fail("The pair " + operation + " failed unexpectedly (" + ex.getClass().getSimpleName()
						+ "); check both nodes with GET /api/v1/pair before retrying");
			}
			PairReport report = run.report();
			this.reports.add(report);
			share(report);
			logger.info("Pair " + operation + " " + report.id() + ": " + report.outcome()
					+ ((report.error() != null) ? ": " + LogText.quote(report.error()) : ""));
			return report;
		}
		finally {
			synchronized (this.monitor) {
				this.running = null;
			}
		}
	}

	/**
	 * Sends the report to the peer, which keeps it as it sees it; a failure is logged.
	 */
	private void share(PairReport report) {
		PeerApi api = this.peerApi;
		if (api == null) {
			return;
		}
		try {
			PeerApi.Answer answer = api.put("/api/v1/pair/operations/" + report.id(),
					this.jsonMapper.writeValueAsString(report.seenFromPeer()));
			if (!answer.ok()) {
				logger.warn("The peer did not keep pair report " + report.id() + ": it answered "
						+ PeerFailoverGuard.statusLine(answer.status()));
			}
		}
		catch (RuntimeException ex) {
			logger.warn("The peer did not keep pair report " + report.id() + ": " + ex.getMessage());
		}
	}

	private static String newId() {
		return UUID.randomUUID().toString();
	}

	@FunctionalInterface
	interface Body {

		/**
		 * Runs the pair operation.
		 * @param run where its steps are recorded
		 * @param mine this node's status, read as the operation began
		 * @param theirs the peer's status, read as the operation began
		 */
		void run(PairRun run, MemberStatus mine, MemberStatus theirs);

	}

}
