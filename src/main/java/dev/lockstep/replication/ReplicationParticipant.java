package dev.lockstep.replication;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * One component that takes part in replication: a disk, a database, a remote process. The
 * coordinator drives every registered participant through the same lifecycle, which
 * follows QEMU's replication framework ({@code include/block/replication.h}) as used by
 * COLO fault tolerance.
 *
 * <h2>Lifecycle</h2> <pre>
 *            start(mode)               stop(failover)
 *   IDLE ───────────────────▶ RUNNING ─────────────────▶ IDLE
 *                               │  ▲
 *                  checkpoint() └──┘
 * </pre>
 * <ol>
 * <li>{@link #start(ReplicationMode)} is called once to enter replication. Participants
 * are started in ascending {@link org.springframework.core.Ordered order}.</li>
 * <li>{@link #checkpoint()} is called any number of times while running, in ascending
 * order. On the secondary a checkpoint is the moment at which the secondary's state is
 * made equal to the primary's.</li>
 * <li>{@link #stop(boolean)} ends replication, in <em>descending</em> order, so that a
 * participant is stopped before the ones it was started after. With {@code failover} set,
 * the node stops replicating and carries on alone: the primary because the secondary is
 * gone, the secondary because the primary is.</li>
 * </ol>
 * {@link #error()} may be called at any time, in any state, including while one of the
 * calls above is running on another thread.
 *
 * <h2>Phases</h2> While running, a checkpoint may be taken with the workload paused:
 * {@link #pause()} on every started participant in ascending order, then any number of
 * checkpoints, then {@link #resume()} in descending order. Both are optional and do
 * nothing by default, so a participant without a workload of its own ignores them. The
 * pause of every participant together is bounded by {@code lockstep.pair.max-pause}; a
 * pause still running at that deadline is interrupted and fails the pause. A resume is
 * always attempted after a pause, whatever failed in between: every participant whose
 * {@code pause()} was called is resumed, also when its pause threw or overran, and also
 * when nobody asks for the resume in time (the coordinator then resumes by itself).
 *
 * <h2>Threading</h2>
 * <ul>
 * <li>{@code start}, {@code checkpoint} and {@code stop} are never called concurrently
 * for one participant. A call that overran its deadline may still be running on its
 * thread; the coordinator then waits for it before it makes the next call to this
 * participant, and counts the wait against that call's deadline.</li>
 * <li>{@link #error()} is called from health probes and status queries on other threads,
 * concurrently with lifecycle calls and with itself. It must be thread-safe, cheap and
 * non-blocking, and must not change state.</li>
 * <li>Lifecycle calls may run on any thread; implementations must not rely on
 * thread-local state between calls.</li>
 * </ul>
 *
 * <h2>Deadlines</h2> Every call has a deadline: the participant's {@link #timeout()} if
 * it has one, else the coordinator's default ({@code lockstep.coordinator.call-timeout},
 * 30 seconds). A call that has not returned by then is reported as {@code timed_out} and
 * treated as a failure; the coordinator interrupts its thread, and implementations should
 * react to interruption by giving up. Beware that an interrupt closes any
 * {@link java.nio.channels.InterruptibleChannel} (such as a {@code FileChannel}) the
 * thread is blocked in: a participant that does channel I/O should run it on a thread of
 * its own and wait for it interruptibly.
 *
 * <h2>Failures</h2> A lifecycle method signals failure by throwing any exception; its
 * message is shown to the operator, so it should say what failed and what to check. The
 * coordinator never lets a participant's failure corrupt its own state:
 * <ul>
 * <li>a failing {@code start} aborts the start: later participants are not called, and
 * the participants already started are stopped again with {@code stop(false)} in reverse
 * order. A participant whose {@code start} threw is <em>not</em> stopped, so
 * {@code start} must leave nothing running when it throws. A participant whose
 * {@code start} overran its deadline may yet finish starting, so it <em>is</em>
 * compensated: its {@code stop(false)} runs once the late {@code start} has returned, and
 * must cope with a start that never took effect;</li>
 * <li>a failing {@code checkpoint} aborts the checkpoint: later participants are not
 * called and replication stays running. The orchestrator decides whether to retry or to
 * fail over;</li>
 * <li>a failing {@code stop} does not stop the others: every participant is asked to
 * stop, and the node is marked failed. A later stop calls only the participants that have
 * not stopped yet, so {@code stop} must be safe to call again after it threw.</li>
 * </ul>
 */
public interface ReplicationParticipant {

	/**
	 * Returns the participant's name: unique among all participants, stable for the life
	 * of the participant, and shown in reports, metrics and errors.
	 */
	String name();

	/**
	 * Enters replication in the given mode. Called only while this participant is
	 * stopped: after registration, or after a successful {@link #stop(boolean)}.
	 * <ul>
	 * <li>{@link ReplicationMode#PRIMARY}: begin sending every change to the secondary.
	 * The secondary has already been started, so a missing or unprepared peer is an error
	 * to report here, not later.</li>
	 * <li>{@link ReplicationMode#SECONDARY}: get ready to receive the primary's changes
	 * and to buffer this node's own changes until the next checkpoint.</li>
	 * </ul>
	 * When the node was started with the workload stopped (as COLO requires), the state
	 * captured here is the common starting point of both nodes.
	 * @param mode the role this node plays
	 * @throws Exception if replication could not be started; the participant must then be
	 * left stopped
	 */
	void start(ReplicationMode mode) throws Exception;

	/**
	 * Enters replication in the given mode, with options; otherwise as
	 * {@link #start(ReplicationMode)}, which the default calls. A participant that keeps
	 * a data lineage honours {@link StartOptions#discardLocalChanges()}: as secondary it
	 * lets the primary overwrite this node's own changes. Participants without one ignore
	 * it.
	 * @param mode the role this node plays
	 * @param options what the start asks for beyond its mode
	 * @throws Exception if replication could not be started; the participant must then be
	 * left stopped
	 */
	default void start(ReplicationMode mode, StartOptions options) throws Exception {
		start(mode);
	}

	/**
	 * Marks a consistent point shared by both nodes. Called only while running, after the
	 * primary's state has been transferred to the secondary.
	 * <ul>
	 * <li>On the primary: make sure every change sent so far has been acknowledged by the
	 * secondary and is durable. The call must not return while a change is only half
	 * replicated.</li>
	 * <li>On the secondary: discard the changes buffered since the last checkpoint, so
	 * that this node's state equals the primary's again.</li>
	 * </ul>
	 * @throws Exception if the checkpoint could not be taken; replication stays running
	 */
	void checkpoint() throws Exception;

	/**
	 * Reports a replication fault that happened since the last start, such as a lost peer
	 * or an I/O error, with enough detail for an operator to act on. Called at any time
	 * from health probes and status queries, concurrently with lifecycle calls. It must
	 * be thread-safe, cheap and non-blocking, must not change state and should not throw;
	 * a thrown exception is reported as this participant's error.
	 * @return the current error, or empty if the participant is healthy or idle
	 */
	Optional<String> error();

	/**
	 * Leaves replication. Called while running, or again after an earlier stop of this
	 * participant failed.
	 * <ul>
	 * <li>{@code failover = false}: a planned stop. Drain what is in flight, disconnect
	 * cleanly and drop any buffered state.</li>
	 * <li>{@code failover = true}, on the primary: the secondary is gone; stop sending
	 * changes and carry on alone.</li>
	 * <li>{@code failover = true}, on the secondary: the primary is gone; keep the state
	 * as of the last checkpoint plus this node's own changes, make it durable before
	 * returning, and carry on alone as the new primary.</li>
	 * </ul>
	 * @param failover whether this node takes over from a failed peer
	 * @throws Exception if the participant could not be stopped; it will be asked again
	 * by a later stop
	 */
	void stop(boolean failover) throws Exception;

	/**
	 * Pauses the workload before a checkpoint, so that the checkpoint captures a state in
	 * which nothing is half done. Called only while running, on the started participants
	 * in ascending order, and never twice without a {@link #resume()} in between.
	 * <ul>
	 * <li>Let what is in flight finish, then hold back new changes; reads and other work
	 * that changes nothing may go on. Return once nothing changes any more.</li>
	 * <li>Be quick: the pause of every participant together must fit in
	 * {@code lockstep.pair.max-pause} (2 seconds by default); past it the pause fails and
	 * the workload is resumed.</li>
	 * </ul>
	 * A checkpoint may follow; a stop may follow too, in which case the participant is
	 * resumed first. Does nothing by default.
	 * @throws Exception if the workload could not be paused; the pause fails, and
	 * {@link #resume()} is still called on this participant and on every other one paused
	 * so far
	 */
	default void pause() throws Exception {
	}

	/**
	 * Resumes the workload after a {@link #pause()}: admits what was held back, in the
	 * order it arrived. Called in descending order on every participant whose
	 * {@code pause()} was called, whether that pause succeeded, threw or overran its
	 * deadline (then once the late pause has returned); so it must cope with a pause that
	 * never took effect, and must be safe to call when nothing is paused. Does nothing by
	 * default.
	 * @throws Exception if the workload could not be resumed; the other participants are
	 * resumed all the same, and the failure is reported
	 */
	default void resume() throws Exception {
	}

	/**
	 * Returns this participant's own deadline for each lifecycle call, if it needs one
	 * other than the coordinator's default. Participants with slow steps, such as an
	 * initial disk synchronisation in {@code start}, say so here.
	 * @return the deadline, or empty for the coordinator's default
	 */
	default Optional<Duration> timeout() {
		return Optional.empty();
	}

	/**
	 * Returns facts about the participant's progress for status queries, such as the
	 * bytes copied by a running synchronisation. The same rules as for {@link #error()}
	 * apply: thread-safe, cheap, non-blocking, no state change. Values must be
	 * serialisable as JSON (strings, numbers, booleans, lists and maps of those, or
	 * records of them).
	 * @return the details, empty by default
	 */
	default Map<String, Object> details() {
		return Map.of();
	}

}
