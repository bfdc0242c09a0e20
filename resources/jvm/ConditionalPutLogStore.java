package ecom.delta;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.util.Iterator;

import io.delta.storage.S3SingleDriverLogStore;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FSDataOutputStreamBuilder;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A Delta log store for S3 that is safe with writers on many machines: a commit file is created
 * with a conditional PUT (If-None-Match: *), so of two writers racing for the same table version
 * exactly one wins and the other gets FileAlreadyExistsException, which Delta answers by checking
 * for conflicts and retrying on the next version. Delta's own S3SingleDriverLogStore checks for the
 * file and then writes it, which only one driver at a time may do.
 *
 * Overwrites (checkpoint pointers) and reads keep S3SingleDriverLogStore's behaviour.
 */
public class ConditionalPutLogStore extends S3SingleDriverLogStore {

  private static final String CONDITIONAL_OVERWRITE = "fs.option.create.conditional.overwrite";

  public ConditionalPutLogStore(Configuration hadoopConf) {
    super(hadoopConf);
  }

  @Override
  public void write(Path path, Iterator<String> actions, Boolean overwrite, Configuration hadoopConf)
      throws IOException {
    if (overwrite) {
      super.write(path, actions, true, hadoopConf);
      return;
    }
    FileSystem fs = path.getFileSystem(hadoopConf);
    if (fs.exists(path)) {
      throw new FileAlreadyExistsException(path.toString());
    }
    // S3 takes the object at close(): that PUT carries If-None-Match and fails if a racing writer won.
    FSDataOutputStreamBuilder<?, ?> builder = fs.createFile(path).overwrite(false);
    builder.must(CONDITIONAL_OVERWRITE, true);
    try (FSDataOutputStream out = builder.build()) {
      while (actions.hasNext()) {
        out.write((actions.next() + "\n").getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException error) {
      if (isLostRace(error)) {
        FileAlreadyExistsException lost = new FileAlreadyExistsException(path.toString());
        lost.initCause(error);
        throw lost;
      }
      throw error;
    }
  }

  /** Whether the store refused the PUT because the object exists (HTTP 412, or 409 for a concurrent PUT). */
  static boolean isLostRace(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof FileAlreadyExistsException
          || cause instanceof org.apache.hadoop.fs.FileAlreadyExistsException
          || cause.getClass().getSimpleName().equals("RemoteFileChangedException")) {
        return true;
      }
      String message = String.valueOf(cause.getMessage());
      if (message.contains("412") || message.contains("PreconditionFailed")
          || message.contains("ConditionalRequestConflict")) {
        return true;
      }
    }
    return false;
  }
}
