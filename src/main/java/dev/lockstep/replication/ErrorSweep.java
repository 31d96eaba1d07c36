package dev.lockstep.replication;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Calls {@link ReplicationParticipant#error()} on every participant, in parallel and
 * under a deadline, and collects every error.
 * <p>
 * Unlike QEMU, which stops at the first error, the sweep asks every participant. Callers
 * that arrive while a sweep runs share it, and a finished sweep may be reused for a
 * caller-chosen time, so that frequent probes stay cheap. A participant whose
 * {@code error()} is still running from an earlier sweep is not called again: the sweep
 * waits for that call instead.
 */
public final class ErrorSweep {

	private final ParticipantRegistry registry;

	private final Executor executor;

	private final Duration errorTimeout;

	private final Duration cacheTtl;

	private final Clock clock;

	private final Map<RegisteredParticipant, CompletableFuture<Optional<String>>> calls = new IdentityHashMap<>();

	private final Object monitor = new Object();

	private CompletableFuture<SweepResult> inFlight;

	private volatile SweepResult last;

	private long lastAt;

	public ErrorSweep(ParticipantRegistry registry, Executor executor, Duration errorTimeout, Duration cacheTtl,
			Clock clock) {
		this.registry = registry;
		this.executor = executor;
		this.errorTimeout = errorTimeout;
		this.cacheTtl = cacheTtl;
		this.clock = clock;
	}

	/**
	 * Returns a sweep no older than the configured cache time, running one if needed.
	 */
	public SweepResult sweep() {
		return sweep(this.cacheTtl);
	}

	/**
	 * Returns the deadline of each {@code error()} call.
	 */
	public Duration errorTimeout() {
		return this.errorTimeout;
	}

	/**
	 * Returns a sweep that started no longer than {@code maxAge} ago, running one if
	 * needed. Never blocks much longer than the error deadline.
	 * @param maxAge how old a reused result may be; zero for a fresh sweep
	 */
	public SweepResult sweep(Duration maxAge) {
		CompletableFuture<SweepResult> sweep;
		synchronized (this.monitor) {
			SweepResult cached = this.last;
			if (cached != null && System.nanoTime() - this.lastAt < maxAge.toNanos()) {
				return cached;
			}
			if (this.inFlight == null) {
				CompletableFuture<SweepResult> started = new CompletableFuture<>();
				this.inFlight = started;
				this.executor.execute(() -> complete(started));
			}
			sweep = this.inFlight;
		}
		try {
			return sweep.get(this.errorTimeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(250), TimeUnit.NANOSECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return stalled("interrupted while waiting for the error sweep");
		}
		catch (ExecutionException | TimeoutException ex) {
			return stalled("the error sweep did not finish within " + OperationRun.describe(this.errorTimeout));
		}
	}

	/**
	 * Returns the most recent finished sweep, if any, without running one.
	 */
	public Optional<SweepResult> last() {
		return Optional.ofNullable(this.last);
	}

	/**
	 * Forgets the cached result, so that the next caller sees a fresh sweep. The
	 * coordinator calls this after every operation.
	 */
	public void invalidate() {
		synchronized (this.monitor) {
			this.lastAt = System.nanoTime() - Long.MAX_VALUE / 2;
		}
	}

	private SweepResult stalled(String reason) {
		return new SweepResult(false, List.of(new ParticipantError("coordinator", reason)), this.clock.instant(),
				false);
	}

	private void complete(CompletableFuture<SweepResult> sweep) {
		SweepResult result;
		try {
			result = run();
		}
		catch (Throwable ex) {
			result = stalled("the error sweep failed: " + OperationRun.message(ex));
		}
		synchronized (this.monitor) {
			this.last = result;
			this.lastAt = System.nanoTime();
			this.inFlight = null;
		}
		sweep.complete(result);
	}

	private SweepResult run() {
		Instant checkedAt = this.clock.instant();
		long deadline = System.nanoTime() + this.errorTimeout.toNanos();
		List<RegisteredParticipant> participants = this.registry.participants();
		List<CompletableFuture<Optional<String>>> answers = new ArrayList<>(participants.size());
		synchronized (this.calls) {
			this.calls.keySet().retainAll(participants);
			for (RegisteredParticipant participant : participants) {
				answers.add(this.calls.compute(participant,
						(key, running) -> (running != null && !running.isDone()) ? running : ask(key)));
			}
		}
		List<ParticipantError> errors = new ArrayList<>();
		boolean complete = true;
		for (int i = 0; i < participants.size(); i++) {
			String name = participants.get(i).name();
			try {
				long remaining = Math.max(0, deadline - System.nanoTime());
				answers.get(i)
					.get(remaining, TimeUnit.NANOSECONDS)
					.ifPresent((message) -> errors.add(new ParticipantError(name, message)));
			}
			catch (TimeoutException ex) {
				complete = false;
				errors.add(new ParticipantError(name,
						"error() did not answer within " + OperationRun.describe(this.errorTimeout)));
			}
			catch (ExecutionException ex) {
				errors.add(new ParticipantError(name, "error() threw: " + OperationRun.message(ex.getCause())));
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				complete = false;
				errors.add(new ParticipantError(name, "interrupted while waiting for error()"));
			}
		}
		return new SweepResult(errors.isEmpty(), errors, checkedAt, complete);
	}

	private CompletableFuture<Optional<String>> ask(RegisteredParticipant participant) {
		return CompletableFuture.supplyAsync(() -> {
			Optional<String> error = participant.participant().error();
			return (error != null) ? error.filter((message) -> !message.isBlank()) : Optional.empty();
		}, this.executor);
	}

}
