package dev.lockstep.pair;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import org.jspecify.annotations.Nullable;

import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.ReplicationMode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Drives both nodes of the pair with one call, through each node's own lifecycle: this
 * node through its coordinator, the peer through its API
 * ({@code lockstep.pair.peer-api}). The per-node API stays as it is; a pair operation
 * only calls it in the right order.
 * <ul>
 * <li>{@link #start}: the secondary first, then the primary; if the primary's start
 * fails, the secondary is stopped again, so a failed pair start leaves both idle.</li>
 * <li>{@link #checkpoint}: phased: the workload paused on the primary's node, then on the
 * secondary's ({@code lockstep.pair.max-pause}); the primary's checkpoint, then the
 * secondary's, and the secondary's only if the primary's succeeded; then a resume of
 * every node that was paused, whatever failed in between.</li>
 * <li>{@link #switchover}: a checkpoint of the pair, a planned stop of the primary and
 * then of the secondary, then the old primary started as secondary and the old secondary
 * as primary. Both disks are equal and both stopped cleanly at the same generation, so
 * the new primary's start copies and hashes nothing.</li>
 * </ul>
 * One pair operation runs at a time, and none while either node runs an operation of its
 * own. Each records one {@link PairReport}, kept here and sent to the peer.
 */
public final class PairOperations {

	private final PairMember self;

	private final @Nullable PairMember peer;

	private final @Nullable PeerApi peerApi;

	private final PairReports reports;

	private final PairRunner runner;

	PairOperations(PairMember self, @Nullable PeerApi peerApi, @Nullable PairMember peer, JsonMapper jsonMapper,
			int history, Clock clock) {
		this.self = self;
		this.peerApi = peerApi;
		this.peer = peer;
		this.reports = new PairReports(history);
		this.runner = new PairRunner(self, peerApi, jsonMapper, this.reports, clock);
	}

	/**
	 * Starts the pair: the secondary first, then the primary.
	 * @param primary the node to start as primary
	 * @param caller who asks
	 * @return the report
	 * @throws PairRefusedException if no peer is configured, the peer cannot be reached,
	 * a node runs an operation, or a node is not idle
	 * @throws PairFailedException if a node's start failed; both nodes are idle again
	 */
	public PairReport start(PairNode primary, @Nullable String caller) {
		return orThrow(start(primary, caller, (report) -> {
		}));
	}

	/**
	 * Starts the pair: the secondary first, then the primary.
	 * @param primary the node to start as primary
	 * @param caller who asks
	 * @param started receives the report, outcome {@code running}, once the operation has
	 * started
	 * @return the final report, which may say that the pair start failed
	 * @throws PairRefusedException if no peer is configured, the peer cannot be reached,
	 * a node runs an operation, or a node is not idle
	 */
	public PairReport start(PairNode primary, @Nullable String caller, Consumer<PairReport> started) {
		return run("start", caller, started, (run, mine, theirs) -> {
			PairMember first = member(primary.other());
			PairMember second = member(primary);
			if (mine.state() != CoordinatorState.IDLE || theirs.state() != CoordinatorState.IDLE) {
				throw new PairRefusedException("A pair start needs both nodes idle, but this node is " + describe(mine)
						+ " and the peer " + describe(theirs) + "; stop the pair (or each node) first", false);
			}
			if (!run.call(first, (member) -> member.start(ReplicationMode.SECONDARY, run.caller()))) {
				return;
			}
			if (!run.call(second, (member) -> member.start(ReplicationMode.PRIMARY, run.caller()))) {
				run.call(first, (member) -> member.stop(run.caller()));
				run.fail(run.error() + "; the secondary (" + first.node().value() + ") was stopped again");
				return;
			}
			run.primary(primary);
		});
	}

	/**
	 * Takes a checkpoint of the pair: the primary's, then the secondary's.
	 * @param caller who asks
	 * @return the report
	 * @throws PairRefusedException if the pair does not run, or a node is busy
	 * @throws PairFailedException if a checkpoint failed
	 */
	public PairReport checkpoint(@Nullable String caller) {
		return orThrow(checkpoint(caller, (report) -> {
		}));
	}

	/**
	 * Takes a checkpoint of the pair: the primary's, then the secondary's.
	 * @param caller who asks
	 * @param started receives the report, outcome {@code running}, once the operation has
	 * started
	 * @return the final report, which may say that the checkpoint failed
	 * @throws PairRefusedException if the pair does not run, or a node is busy
	 */
	public PairReport checkpoint(@Nullable String caller, Consumer<PairReport> started) {
		return run("checkpoint", caller, started, (run, mine, theirs) -> {
			PairNode primary = runningPrimary(mine, theirs);
			run.primary(primary);
			checkpointPair(run, member(primary), member(primary.other()));
		});
	}

	/**
	 * Swaps the roles of the two nodes without a synchronisation.
	 * @param caller who asks
	 * @return the report
	 * @throws PairRefusedException if the pair does not run, or a node is busy
	 * @throws PairFailedException if a step failed; the report says where the pair is
	 */
	public PairReport switchover(@Nullable String caller) {
		return orThrow(switchover(caller, (report) -> {
		}));
	}

	/**
	 * Swaps the roles of the two nodes without a synchronisation.
	 * @param caller who asks
	 * @param started receives the report, outcome {@code running}, once the operation has
	 * started
	 * @return the final report, which says where the pair is if a step failed
	 * @throws PairRefusedException if the pair does not run, or a node is busy
	 */
	public PairReport switchover(@Nullable String caller, Consumer<PairReport> started) {
		return run("switchover", caller, started, (run, mine, theirs) -> {
			PairNode oldPrimary = runningPrimary(mine, theirs);
			PairMember primary = member(oldPrimary);
			PairMember secondary = member(oldPrimary.other());
			run.primary(oldPrimary);
			if (!checkpointPair(run, primary, secondary)) {
				return;
			}
			if (!run.call(primary, (member) -> member.stop(run.caller()))
					|| !run.call(secondary, (member) -> member.stop(run.caller()))) {
				run.primary(null);
				run.fail(run.error() + "; the pair is partly stopped: stop both nodes, then start the pair again");
				return;
			}
			run.primary(null);
			if (!run.call(primary, (member) -> member.start(ReplicationMode.SECONDARY, run.caller()))) {
				run.fail(run.error() + "; both nodes are idle: start the pair again");
				return;
			}
			if (!run.call(secondary, (member) -> member.start(ReplicationMode.PRIMARY, run.caller()))) {
				run.call(primary, (member) -> member.stop(run.caller()));
				run.fail(run.error() + "; both nodes are idle: start the pair again");
				return;
			}
			run.primary(oldPrimary.other());
			run.note("The " + oldPrimary.other().value() + " node is primary now: NBD clients must reconnect to its "
					+ "exports; the old primary's exports serve the secondary's view");
		});
	}

	/** Both nodes' status side by side. */
	public PairView status() {
		MemberStatus mine = this.self.status();
		PairView.NodeView selfView = PairView.NodeView.of(mine);
		PairMember other = this.peer;
		PeerApi api = this.peerApi;
		if (other == null || api == null) {
			throw notConfigured();
		}
		MemberStatus theirs;
		try {
			theirs = other.status();
		}
		catch (PairRefusedException ex) {
			return new PairView(selfView, null, api.base(), false, ex.getMessage(), primaryOf(mine, null), false);
		}
		PairView.NodeView peerView = PairView.NodeView.of(theirs);
		PairNode primary = primaryOf(mine, theirs);
		boolean inSync = primary != null
				&& ((primary == PairNode.SELF) ? theirs : mine).runningAs(ReplicationMode.SECONDARY)
				&& ((primary == PairNode.SELF) ? selfView : peerView).disks()
					.stream()
					.allMatch(PairView.DiskSummary::inSync);
		return new PairView(selfView, peerView, api.base(), true, null, primary, inSync);
	}

	/**
	 * Asks the peer for its status.
	 * @return whether it answered, or nothing when no peer is configured
	 */
	public Optional<PeerReach> reachPeer() {
		PairMember other = this.peer;
		PeerApi api = this.peerApi;
		if (other == null || api == null) {
			return Optional.empty();
		}
		try {
			MemberStatus theirs = other.status();
			return Optional.of(new PeerReach(api.base(), true, null, theirs.state(), theirs.mode()));
		}
		catch (PairRefusedException ex) {
			return Optional.of(new PeerReach(api.base(), false, ex.getMessage(), null, null));
		}
	}

	/** The pair report of that id, from this node or sent by the peer. */
	public Optional<PairReport> report(String id) {
		return this.reports.find(id);
	}

	/** The newest pair reports, up to {@code limit}. */
	public List<PairReport> reports(int limit) {
		return this.reports.newest(limit);
	}

	/** Keeps the copy of a report the peer ran, as this node sees it. */
	public void recordFromPeer(PairReport report) {
		this.reports.add(report);
	}

	private static @Nullable PairNode primaryOf(MemberStatus mine, @Nullable MemberStatus theirs) {
		if (mine.runningAs(ReplicationMode.PRIMARY)) {
			return PairNode.SELF;
		}
		return (theirs != null && theirs.runningAs(ReplicationMode.PRIMARY)) ? PairNode.PEER : null;
	}

	/** The node running as primary while the other runs as secondary. */
	private static PairNode runningPrimary(MemberStatus mine, MemberStatus theirs) {
		if (mine.runningAs(ReplicationMode.PRIMARY) && theirs.runningAs(ReplicationMode.SECONDARY)) {
			return PairNode.SELF;
		}
		if (mine.runningAs(ReplicationMode.SECONDARY) && theirs.runningAs(ReplicationMode.PRIMARY)) {
			return PairNode.PEER;
		}
		throw new PairRefusedException(
				"The pair does not run: this node is " + describe(mine) + " and the peer " + describe(theirs)
						+ "; one must run as primary and the other as secondary " + "(POST /api/v1/pair/start)",
				false);
	}

	/**
	 * The phased checkpoint: pauses the workload on the primary's node, then on the
	 * secondary's; checkpoints the primary, then the secondary; resumes every node that
	 * was paused, whatever failed in between.
	 */
	private boolean checkpointPair(PairRun run, PairMember primary, PairMember secondary) {
		long pauseStarted = System.nanoTime();
		List<PairMember> paused = new ArrayList<>();
		boolean succeeded = pause(run, primary, paused) && pause(run, secondary, paused);
		if (succeeded) {
			succeeded = run.call(primary, (member) -> member.checkpoint(run.caller()));
			if (!succeeded) {
				run.fail(run.error() + "; the secondary was not asked, so it keeps the last checkpoint");
			}
			else {
				succeeded = run.call(secondary, (member) -> member.checkpoint(run.caller()));
			}
		}
		for (int i = paused.size() - 1; i >= 0; i--) {
			succeeded &= run.call(paused.get(i), (member) -> member.resume(run.caller()));
		}
		run.paused(Duration.ofNanos(System.nanoTime() - pauseStarted).toMillis());
		return succeeded;
	}

	private static boolean pause(PairRun run, PairMember member, List<PairMember> paused) {
		// A pause that failed has resumed what it paused on that node.
		boolean done = run.call(member, (node) -> node.pause(run.caller()));
		if (done) {
			paused.add(member);
		}
		return done;
	}

	private static PairReport orThrow(PairReport report) {
		if (!report.succeeded()) {
			throw new PairFailedException(report);
		}
		return report;
	}

	private PairReport run(String operation, @Nullable String caller, Consumer<PairReport> started,
			PairRunner.Body body) {
		PairMember other = this.peer;
		if (other == null) {
			throw notConfigured();
		}
		return this.runner.run(other, operation, caller, started, body);
	}

	private PairMember member(PairNode node) {
		if (node == PairNode.SELF) {
			return this.self;
		}
		PairMember other = this.peer;
		if (other == null) {
			throw notConfigured();
		}
		return other;
	}

	private static PairRefusedException notConfigured() {
		return new PairRefusedException(
				"This node has no peer: set lockstep.pair.peer-api to the other node's API "
						+ "URL (such as http://10.0.0.2:8080), and lockstep.pair.peer-token if its token differs",
				true);
	}

	private static String describe(MemberStatus status) {
		return status.state() + ((status.mode() != null) ? " as " + status.mode().value() : "");
	}

}
