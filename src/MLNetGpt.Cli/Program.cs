System.Console.WriteLine("mlnetgpt");
