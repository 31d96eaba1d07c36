package dev.lockstep.bench;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.replicated.secondary.SecondaryStack;

/**
 * In-process part of {@code bench/replication.sh}: secondary checkpoint time with 1,000
 * dirty 64 KiB regions on a 1 GiB and an 8 GiB sparse disk, and failover commit time for
 * 100 MiB of dirty data against a plain write and fsync of the same 100 MiB. Not a test;
 * run with a directory argument.
 */
public final class ReplicationBenchmark {

	private static final int CLUSTER = 64 * 1024;

	private ReplicationBenchmark() {
	}

	public static void main(String[] args) throws Exception {
		Path dir = Path.of(args.length > 0 ? args[0] : "target/replication-bench");
		Files.createDirectories(dir);
		int rounds = 101;
		double[] medians = checkpointMillis(dir, new long[] { 1L << 30, 8L << 30 }, rounds);
		System.out.printf("secondary checkpoint, 1000 dirty 64 KiB regions, 1 GiB disk: %.3f ms (median of %d)%n",
				medians[0], rounds);
		System.out.printf("secondary checkpoint, 1000 dirty 64 KiB regions, 8 GiB disk: %.3f ms (median of %d)%n",
				medians[1], rounds);
		System.out.printf("ratio 8 GiB / 1 GiB: %.2f (target within 1.2, both under 10 ms)%n", medians[1] / medians[0]);
		double[] commit = commitMillis(dir, 100 << 20, 3);
		System.out.printf("failover commit, 100 MiB dirty (50 hidden + 50 active): %.0f ms (median of 3)%n", commit[0]);
		System.out.printf("baseline: 1600 sorted 64 KiB writes (100 MiB) + fsync into the same image: %.0f ms%n",
				commit[1]);
		System.out.printf("ratio commit / baseline: %.2f%n", commit[0] / commit[1]);
	}

	/**
	 * Dirties 500 regions through the replica (hidden) and 500 through the workload
	 * (active), then checkpoints; the disks take turns, each going first in every other
	 * round, after three rounds of warm-up, so that both see the same machine. Returns
	 * the median checkpoint time of each disk.
	 */
	private static double[] checkpointMillis(Path dir, long[] sizes, int rounds) throws Exception {
		int warmup = 3;
		List<FileBlockDevice> bases = new ArrayList<>();
		List<SecondaryStack> stacks = new ArrayList<>();
		double[][] samples = new double[sizes.length][rounds];
		Random random = new Random(42);
		byte[] data = new byte[CLUSTER];
		try {
			for (long size : sizes) {
				Path image = dir.resolve("checkpoint-" + (size >> 30) + "g.img");
				Files.deleteIfExists(image);
				FileBlockDevice base = FileBlockDevice.open(image, size, false);
				bases.add(base);
				stacks.add(new SecondaryStack("bench", base, dir.resolve(image.getFileName() + ".hidden"),
						dir.resolve(image.getFileName() + ".active"), new Faults("bench")));
			}
			for (int round = -warmup; round < rounds; round++) {
				for (int turn = 0; turn < sizes.length; turn++) {
					// Each disk goes first in every other round.
					int disk = (Math.floorMod(round, 2) == 0) ? turn : sizes.length - 1 - turn;
					SecondaryStack stack = stacks.get(disk);
					long clusters = sizes[disk] / CLUSTER;
					for (int i = 0; i < 1000; i++) {
						random.nextBytes(data);
						long offset = (Math.floorMod(random.nextLong(), clusters)) * CLUSTER;
						if (i % 2 == 0) {
							stack.replica().write(offset, ByteBuffer.wrap(data), false);
						}
						else {
							stack.workload().write(offset, ByteBuffer.wrap(data), false);
						}
					}
					long start = System.nanoTime();
					stack.checkpoint();
					if (round >= 0) {
						samples[disk][round] = (System.nanoTime() - start) / 1e6;
					}
				}
			}
		}
		finally {
			for (SecondaryStack stack : stacks) {
				stack.close();
			}
			for (FileBlockDevice base : bases) {
				base.close();
			}
			for (long size : sizes) {
				Path image = dir.resolve("checkpoint-" + (size >> 30) + "g.img");
				Files.deleteIfExists(image);
				Files.deleteIfExists(dir.resolve(image.getFileName() + ".map"));
			}
		}
		double[] medians = new double[sizes.length];
		for (int disk = 0; disk < sizes.length; disk++) {
			Arrays.sort(samples[disk]);
			medians[disk] = samples[disk][rounds / 2];
		}
		return medians;
	}

	private static double[] commitMillis(Path dir, int bytes, int rounds) throws Exception {
		Path image = dir.resolve("commit.img");
		Files.deleteIfExists(image);
		long size = 1L << 30;
		double[] commit = new double[rounds];
		double[] plain = new double[rounds];
		Random random = new Random(42);
		byte[] data = new byte[CLUSTER];
		int regions = bytes / CLUSTER;
		try (FileBlockDevice base = FileBlockDevice.open(image, size, false)) {
			// An allocated disk, as a real one would be.
			byte[] fill = new byte[1 << 20];
			for (long offset = 0; offset < size; offset += fill.length) {
				random.nextBytes(fill);
				base.write(offset, ByteBuffer.wrap(fill), false);
			}
			base.flush();
			for (int round = 0; round < rounds; round++) {
				try (SecondaryStack stack = new SecondaryStack("bench", base, dir.resolve("commit.hidden"),
						dir.resolve("commit.active"), new Faults("bench"))) {
					long[] offsets = distinctOffsets(random, size / CLUSTER, regions);
					for (int i = 0; i < regions; i++) {
						random.nextBytes(data);
						if (i % 2 == 0) {
							stack.replica().write(offsets[i], ByteBuffer.wrap(data), false);
						}
						else {
							stack.workload().write(offsets[i], ByteBuffer.wrap(data), false);
						}
					}
					long start = System.nanoTime();
					stack.commit();
					commit[round] = (System.nanoTime() - start) / 1e6;
				}
				long[] offsets = distinctOffsets(random, size / CLUSTER, regions);
				Arrays.sort(offsets);
				random.nextBytes(data);
				long start = System.nanoTime();
				for (int i = 0; i < regions; i++) {
					base.write(offsets[i], ByteBuffer.wrap(data), false);
				}
				base.flush();
				plain[round] = (System.nanoTime() - start) / 1e6;
			}
		}
		finally {
			Files.deleteIfExists(image);
			Files.deleteIfExists(dir.resolve(image.getFileName() + ".map"));
		}
		Arrays.sort(commit);
		Arrays.sort(plain);
		return new double[] { commit[rounds / 2], plain[rounds / 2] };
	}

	private static long[] distinctOffsets(Random random, long clusters, int count) {
		java.util.Set<Long> chosen = new java.util.LinkedHashSet<>();
		while (chosen.size() < count) {
			chosen.add(Math.floorMod(random.nextLong(), clusters) * CLUSTER);
		}
		return chosen.stream().mapToLong(Long::longValue).toArray();
	}

}
