package dev.lockstep.events;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;

import org.springframework.context.SmartLifecycle;

/**
 * A watcher that runs {@link #poll()} on a daemon thread of its own, at once and then
 * with a fixed delay between runs, while the application runs. {@code poll()} must catch
 * what it throws: an exception would end the polling.
 */
abstract class Poller implements SmartLifecycle {

	private final String threadName;

	private final Duration interval;

	private @Nullable ScheduledExecutorService scheduler;

	Poller(String threadName, Duration interval) {
		this.threadName = threadName;
		this.interval = interval;
	}

	/** Looks once and publishes what changed. */
	abstract void poll();

	@Override
	public final synchronized void start() {
		ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor((runnable) -> {
			Thread thread = new Thread(runnable, this.threadName);
			thread.setDaemon(true);
			return thread;
		});
		this.scheduler = scheduler;
		// poll() catches what it throws, and stop() ends it with the scheduler.
		ScheduledFuture<?> unused = scheduler.scheduleWithFixedDelay(this::poll, 0, this.interval.toMillis(),
				TimeUnit.MILLISECONDS);
	}

	@Override
	public final synchronized void stop() {
		ScheduledExecutorService scheduler = this.scheduler;
		if (scheduler != null) {
			scheduler.shutdownNow();
		}
		this.scheduler = null;
	}

	@Override
	public final synchronized boolean isRunning() {
		return this.scheduler != null;
	}

}
