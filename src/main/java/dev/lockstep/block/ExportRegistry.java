package dev.lockstep.block;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * The live set of exports served by the NBD server, by name. Exports can be added,
 * replaced behind their name and removed at runtime; the server looks the name up when a
 * client selects an export.
 */
public final class ExportRegistry {

	private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,254}");

	private final ConcurrentMap<String, Export> exports = new ConcurrentHashMap<>();

	private final List<String> order = new CopyOnWriteArrayList<>();

	private final List<Consumer<Export>> removalListeners = new CopyOnWriteArrayList<>();

	/**
	 * Returns whether {@code name} is a valid export name: letters, digits, dot, dash and
	 * underscore, starting with a letter or digit, at most 255 characters.
	 */
	public static boolean isValidName(@Nullable String name) {
		return name != null && NAME.matcher(name).matches();
	}

	/**
	 * Adds an export.
	 * @param name the export name
	 * @param device the device to serve
	 * @param readOnly whether clients may only read (also implied by a read-only device)
	 * @param description a human-readable description, may be {@code null}
	 * @return the new export
	 * @throws IllegalArgumentException if the name is invalid
	 * @throws IllegalStateException if an export with that name exists
	 */
	public Export add(String name, BlockDevice device, boolean readOnly, @Nullable String description) {
		if (!isValidName(name)) {
			throw new IllegalArgumentException("Invalid export name '" + name + "'");
		}
		Export export = new Export(name, device, readOnly, description);
		if (this.exports.putIfAbsent(name, export) != null) {
			throw new IllegalStateException("Export '" + name + "' already exists");
		}
		this.order.add(name);
		return export;
	}

	/**
	 * Finds an export by name. The empty name selects the default export, the first one
	 * added that still exists.
	 */
	public Optional<Export> find(@Nullable String name) {
		if (name == null || name.isEmpty()) {
			return this.order.stream().map(this.exports::get).filter(e -> e != null).findFirst();
		}
		return Optional.ofNullable(this.exports.get(name));
	}

	/**
	 * Returns the export with the given name.
	 * @throws IllegalArgumentException if there is none
	 */
	public Export get(String name) {
		return find(name).filter(e -> !name.isEmpty())
			.orElseThrow(() -> new IllegalArgumentException("No export named '" + name + "'"));
	}

	/** All exports, in the order they were added. */
	public List<Export> list() {
		List<Export> list = new ArrayList<>();
		for (String name : this.order) {
			Export export = this.exports.get(name);
			if (export != null) {
				list.add(export);
			}
		}
		return list;
	}

	/**
	 * Replaces the device behind an export; see {@link Export#swapDevice}.
	 * @return the replaced device
	 */
	public BlockDevice swapDevice(String name, UnaryOperator<BlockDevice> wrap) {
		return get(name).swapDevice(wrap);
	}

	/**
	 * Removes an export. New clients can no longer select it; clients connected to it are
	 * disconnected once their running requests finish. The device is not closed: it
	 * belongs to whoever added it.
	 * @return the removed export, if there was one
	 */
	public Optional<Export> remove(String name) {
		Export export = this.exports.remove(name);
		if (export == null) {
			return Optional.empty();
		}
		this.order.remove(name);
		export.markRemoved();
		for (Consumer<Export> listener : this.removalListeners) {
			listener.accept(export);
		}
		return Optional.of(export);
	}

	/**
	 * Registers a callback run when an export is removed (the NBD server uses it to
	 * disconnect that export's clients).
	 */
	public void onRemoval(Consumer<Export> listener) {
		this.removalListeners.add(listener);
	}

}
