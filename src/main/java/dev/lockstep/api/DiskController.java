package dev.lockstep.api;

import java.util.List;
import java.util.Optional;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import dev.lockstep.block.Disk;
import dev.lockstep.block.DiskEngine;

/**
 * Lists the disks served over NBD. With the disk engine switched off the list is
 * empty.
 */
@RestController
@RequestMapping("/api/v1/disks")
public class DiskController {

	private final ObjectProvider<DiskEngine> engine;

	public DiskController(ObjectProvider<DiskEngine> engine) {
		this.engine = engine;
	}

	@GetMapping
	public List<DiskView> disks() {
		DiskEngine diskEngine = this.engine.getIfAvailable();
		if (diskEngine == null) {
			return List.of();
		}
		return diskEngine.disks().stream().map((disk) -> DiskView.of(disk, diskEngine.exportUrl(disk.name()))).toList();
	}

	@GetMapping("/{name}")
	public DiskView disk(@PathVariable String name) {
		DiskEngine diskEngine = this.engine.getIfAvailable();
		Optional<Disk> found = (diskEngine != null) ? diskEngine.disk(name) : Optional.empty();
		return found.map((disk) -> DiskView.of(disk, diskEngine.exportUrl(disk.name())))
			.orElseThrow(() -> notFound(name));
	}

	private static ErrorResponseException notFound(String name) {
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, "No disk named '" + name + "'");
		problem.setTitle("Disk not found");
		return new ErrorResponseException(HttpStatus.NOT_FOUND, problem, null);
	}

}
