package dev.lockstep.bench;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.ErrorSweep;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ParticipantKind;
import dev.lockstep.replication.ParticipantRegistry;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationParticipant;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The coordinator's cost per checkpoint against a plain loop that calls the same
 * no-op participants. {@code bench/coordinator.sh} turns the two into a cost per
 * participant.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CoordinatorBenchmark {

	@Param({ "1", "10", "100" })
	public int participants;

	private final List<ReplicationParticipant> plain = new ArrayList<>();

	private ExecutorService executor;

	private ReplicationCoordinator coordinator;

	@Setup(Level.Trial)
	public void setUp() {
		ParticipantRegistry registry = new ParticipantRegistry();
		for (int i = 0; i < this.participants; i++) {
			NoOpParticipant participant = new NoOpParticipant("p" + i);
			this.plain.add(participant);
			registry.register(participant, i, ParticipantKind.BEAN);
		}
		this.executor = Executors.newCachedThreadPool();
		CoordinatorProperties properties = CoordinatorProperties.defaults();
		ErrorSweep sweep = new ErrorSweep(registry, this.executor, properties.errorTimeout(), Duration.ofSeconds(1),
				Clock.systemUTC());
		this.coordinator = new ReplicationCoordinator(registry, sweep, properties, this.executor,
				new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), Clock.systemUTC());
		this.coordinator.start(ReplicationMode.PRIMARY, "bench");
	}

	@TearDown(Level.Trial)
	public void tearDown() {
		this.coordinator.stop(false, "bench");
		this.executor.shutdownNow();
	}

	@Benchmark
	public OperationReport coordinatorCheckpoint() {
		return this.coordinator.checkpoint("bench");
	}

	@Benchmark
	public void plainLoop(Blackhole blackhole) throws Exception {
		for (ReplicationParticipant participant : this.plain) {
			participant.checkpoint();
			blackhole.consume(participant);
		}
	}

	static final class NoOpParticipant implements ReplicationParticipant {

		private final String name;

		private volatile long checkpoints;

		NoOpParticipant(String name) {
			this.name = name;
		}

		@Override
		public String name() {
			return this.name;
		}

		@Override
		public void start(ReplicationMode mode) {
		}

		@Override
		public void checkpoint() {
			this.checkpoints++;
		}

		@Override
		public Optional<String> error() {
			return Optional.empty();
		}

		@Override
		public void stop(boolean failover) {
		}

	}

}
