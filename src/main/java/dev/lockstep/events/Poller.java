package dev.lockstep.events;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;

/**
 * Runs one task on a daemon thread of its own, at once and then with a fixed delay
 * between runs, from {@link #start()} to {@link #stop()}. The task must catch what it
 * throws: an exception would end the polling.
 */
final class Poller {

	private final String threadName;

	private final Runnable task;

	private final Duration interval;

	private @Nullable ScheduledExecutorService scheduler;

	Poller(String threadName, Runnable task, Duration interval) {
		this.threadName = threadName;
		this.task = task;
		this.interval = interval;
	}

	synchronized void start() {
		ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor((runnable) -> {
			Thread thread = new Thread(runnable, this.threadName);
			thread.setDaemon(true);
			return thread;
		});
		this.scheduler = scheduler;
		// The task catches what it throws, and stop() ends it with the scheduler.
		ScheduledFuture<?> unused = scheduler.scheduleWithFixedDelay(this.task, 0, this.interval.toMillis(),
				TimeUnit.MILLISECONDS);
	}

	synchronized void stop() {
		ScheduledExecutorService scheduler = this.scheduler;
		if (scheduler != null) {
			scheduler.shutdownNow();
		}
		this.scheduler = null;
	}

	synchronized boolean running() {
		return this.scheduler != null;
	}

}
